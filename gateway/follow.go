package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/gateway/adminapi"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/web"
)

// catalogueRuntime puts the stored catalogue (the connectors and aids
// administrations registered) into effect in this process. Every replica
// runs one under its catalogue.Follower; the administrations' API never
// changes a process's state directly, it writes a catalogue version and
// asks the follower to apply it, so the replica that took the request and
// every other one go through the same path.
type catalogueRuntime struct {
	store  *store.Store
	rt     adminRuntime
	rec    *recommend.Recommender
	alerts *alerts.Service
	cat    *web.Catalogue // shows registered categories, fields and sources by name
	// register names the administrations (as org.<id>), which documents
	// are shared with and aids are published by.
	register catalogue.Register
	log      *slog.Logger
	// What is in effect here, by registration id.
	conns map[string]appliedConnector
	aids  map[string]int64 // the version of each published aid
}

type appliedConnector struct {
	version int64
	spec    adminapi.Spec
}

// apply loads the stored registrations and applies what changed since the
// last load. It returns the catalogue version read before the
// registrations. A registration that cannot be put into effect (its rule
// no longer compiles, its certificate no longer parses) stays out of this
// process, with the reason in the log, until its next version; an
// unreadable store is an error, and the follower tries again.
func (c *catalogueRuntime) apply(ctx context.Context) (int64, error) {
	v, err := c.store.CatalogueVersion(ctx)
	if err != nil {
		return 0, err
	}
	conns, err := c.store.ListConnectors(ctx, "")
	if err != nil {
		return 0, err
	}
	aids, err := c.store.ListAids(ctx, "")
	if err != nil {
		return 0, err
	}
	c.applyConnectors(ctx, conns)
	c.applyAids(ctx, aids)
	return v, nil
}

func (c *catalogueRuntime) applyConnectors(ctx context.Context, regs []adminapi.Registration) {
	current := map[string]adminapi.Registration{}
	for _, r := range regs {
		if r.Active {
			current[r.ID] = r
		}
	}
	// First take out what is gone or changed, so that a category a
	// registration left is free before another takes it.
	for id, a := range c.conns {
		if r, ok := current[id]; ok && r.Version == a.version {
			continue
		}
		if err := c.rt.Deactivate(ctx, a.spec); err != nil {
			c.log.Error("registered connector not deactivated", "connector", id, "err", err)
		}
		delete(c.conns, id)
	}
	for id, r := range current {
		if _, ok := c.conns[id]; ok {
			continue
		}
		var s adminapi.Spec
		err := json.Unmarshal(r.Spec, &s)
		if err == nil {
			err = c.rt.Activate(ctx, s)
		}
		if err != nil {
			// One bad registration must not keep citizens out: it stays
			// registered, inactive in this process, and the log says why.
			c.log.Error("registered connector not activated", "connector", id, "version", r.Version, "err", err)
			s = adminapi.Spec{} // nothing to take out later
		}
		c.conns[id] = appliedConnector{version: r.Version, spec: s}
	}
	c.cat.SetRegistered(registeredNames(c.register, regs))
}

// registeredNames are the names citizens read, in each language: the
// administrations of the register, and from every registration, active or
// not (a citizen's log and data still name what a deactivated one did),
// its source, and for data its category (the consent offer's title) and
// each field.
func registeredNames(register catalogue.Register, regs []adminapi.Registration) map[string]map[string]string {
	out := map[string]map[string]string{}
	put := func(l, key, name string) {
		if out[l] == nil {
			out[l] = map[string]string{}
		}
		out[l][key] = name
	}
	for _, r := range regs {
		var s adminapi.Spec
		if json.Unmarshal(r.Spec, &s) != nil {
			continue
		}
		for l, t := range s.Texts {
			put(l, "org."+s.Source, t.Source)
			if s.Activity() {
				continue
			}
			put(l, "category."+s.Category, t.Title)
			for _, f := range s.Fields {
				put(l, "field."+f.Name, f.Labels[l])
			}
		}
	}
	// Last, so that no registration renames an administration of the
	// register: what an administration sends names only itself.
	for _, a := range register.All() {
		for l, n := range a.Name {
			put(l, "org."+a.ID, n)
		}
	}
	return out
}

func (c *catalogueRuntime) applyAids(ctx context.Context, regs []adminapi.Registration) {
	current := map[string]adminapi.Registration{}
	for _, r := range regs {
		if r.Active {
			current[r.ID] = r
		}
	}
	for id := range c.aids {
		if _, ok := current[id]; ok {
			continue
		}
		if err := c.rec.Retire(ctx, id); err != nil {
			c.log.Error("retired aid still in effect", "aid", id, "err", err)
			continue
		}
		delete(c.aids, id)
	}
	for id, r := range current {
		if v, ok := c.aids[id]; ok && v == r.Version {
			continue
		}
		var p recommend.Publication
		err := json.Unmarshal(r.Spec, &p)
		if err == nil && p.Aid.ID != id {
			err = fmt.Errorf("the publication names aid %q", p.Aid.ID)
		}
		if err == nil {
			err = c.rec.Publish(ctx, p)
		}
		c.aids[id] = r.Version
		if err != nil {
			c.log.Error("published aid not loaded", "aid", id, "version", r.Version, "err", err)
			continue
		}
		// The sweep that alerts the subscribers it now fits; queued once
		// per aid version whichever replica gets here first (a failure is
		// caught up by the periodic job).
		if err := c.alerts.AidChanged(ctx, id); err != nil {
			c.log.Error("alert sweep not queued; the catch-up job will", "aid", id, "err", err)
		}
	}
}
