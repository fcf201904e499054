package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/gateway/recommend"
)

// Audit kinds of aid publications.
const (
	KindAidPublish = "admin.aid.publish"
	KindAidUpdate  = "admin.aid.update"
	KindAidRetire  = "admin.aid.retire"
)

// Aids checks publications against the recommender. Putting them into
// effect follows from the stored catalogue, as for connectors.
type Aids interface {
	// Check lists every problem of a publication (its tests are run).
	Check(ctx context.Context, p recommend.Publication) []string
	// Shipped reports whether id is an aid of Obert's own catalogue,
	// which the API cannot replace.
	Shipped(id string) bool
}

// WithAids enables /admin/v1/aids.
func (a *API) WithAids(store AidStore, aids Aids) {
	a.aidStore, a.aids = store, aids
	a.mux.Handle("POST /admin/v1/aids", a.auth(a.publishAid))
	a.mux.Handle("GET /admin/v1/aids", a.auth(a.listAids))
	a.mux.Handle("GET /admin/v1/aids/{id}", a.auth(a.getAid))
	a.mux.Handle("PUT /admin/v1/aids/{id}", a.auth(a.updateAid))
	a.mux.Handle("DELETE /admin/v1/aids/{id}", a.auth(a.retireAid))
}

type aidView struct {
	ID          string                `json:"id"`
	Owner       string                `json:"owner"`
	Active      bool                  `json:"active"`
	Version     int64                 `json:"version"`
	Publication recommend.Publication `json:"publication"`
}

func aidViewOf(r Registration) aidView {
	v := aidView{ID: r.ID, Owner: r.Owner, Active: r.Active, Version: r.Version}
	json.Unmarshal(r.Spec, &v.Publication)
	return v
}

func decodePublication(w http.ResponseWriter, r *http.Request) (recommend.Publication, bool) {
	var p recommend.Publication
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			problem(w, http.StatusRequestEntityTooLarge, "Too large", "A publication is at most 64 KiB.", nil)
		} else {
			problem(w, http.StatusBadRequest, "Not a publication", "The body is not an aid publication (aid, rule, tests): "+err.Error(), nil)
		}
		return p, false
	}
	return p, true
}

// checkAid answers every problem of p, or reports it is fit to publish.
// Who publishes is the token's administration, as the register names it:
// the body may repeat that name but never another, and the aid's level
// must be one the register allows it. p's administration is set from the
// register.
func (a *API) checkAid(w http.ResponseWriter, r *http.Request, admin string, p *recommend.Publication) bool {
	what := "aid " + p.Aid.ID
	reg, _ := a.cfg.Register.Get(admin) // auth let only registered administrations in
	if !reg.May(p.Aid.Level) {
		a.refused(r.Context(), admin, what, RefusedLevel)
		problem(w, http.StatusForbidden, "Level not allowed",
			"Your administration ("+reg.Name["en"]+") publishes aids at the level "+strings.Join(reg.Levels, ", ")+" only. Nothing was published.",
			[]Problem{{"aid.level", "one of " + strings.Join(reg.Levels, ", ")}})
		return false
	}
	if len(p.Aid.Administration) > 0 && !maps.Equal(p.Aid.Administration, reg.Name) {
		a.refused(r.Context(), admin, what, RefusedAdministration)
		problem(w, http.StatusForbidden, "Not your administration",
			"An aid is published in the name of the administration of the token, as Obert's register names it; leave aid.administration out or give exactly that name. Nothing was published.",
			[]Problem{{"aid.administration", "ca: " + reg.Name["ca"] + "; es: " + reg.Name["es"] + "; en: " + reg.Name["en"]}})
		return false
	}
	p.Aid.Administration = maps.Clone(reg.Name)
	if a.aids.Shipped(p.Aid.ID) {
		a.refused(r.Context(), admin, what, RefusedInvalid)
		problem(w, http.StatusConflict, "Reserved", "This id is an aid of Obert's own catalogue.", nil)
		return false
	}
	if ps := a.aids.Check(r.Context(), *p); len(ps) > 0 {
		a.refused(r.Context(), admin, what, RefusedInvalid)
		var errs []Problem
		for _, s := range ps {
			errs = append(errs, Problem{Field: "publication", Detail: s})
		}
		problem(w, http.StatusBadRequest, "Invalid publication", "Nothing was published; correct the problems listed in errors.", errs)
		return false
	}
	return true
}

// aidRecorder records an aid change with the outcome it is given.
func (a *API) aidRecorder(kind, admin, id string) func(context.Context, string) error {
	return func(ctx context.Context, outcome string) error {
		return a.cfg.Audit.Record(ctx, audit.Entry{Kind: kind, Subject: "admin:" + admin, Requester: admin, Connector: id, Outcome: outcome})
	}
}

func (a *API) publishAid(w http.ResponseWriter, r *http.Request, admin string) {
	p, ok := decodePublication(w, r)
	if !ok || !a.checkAid(w, r, admin, &p) {
		return
	}
	spec, _ := json.Marshal(p)
	now := a.cfg.Now().UTC()
	reg := Registration{ID: p.Aid.ID, Owner: admin, Spec: spec, Active: true, CreatedAt: now, UpdatedAt: now}
	reg, ok = a.commit(w, r, a.aidRecorder(KindAidPublish, admin, p.Aid.ID), func(ctx context.Context) (Registration, error) {
		return a.aidStore.CreateAid(ctx, reg)
	})
	if !ok {
		return
	}
	w.Header().Set("Location", "/admin/v1/aids/"+p.Aid.ID)
	writeJSON(w, http.StatusCreated, aidViewOf(reg))
}

func (a *API) listAids(w http.ResponseWriter, r *http.Request, admin string) {
	regs, err := a.aidStore.ListAids(r.Context(), admin)
	if err != nil {
		a.unavailable(w, err)
		return
	}
	out := []aidView{}
	for _, reg := range regs {
		out = append(out, aidViewOf(reg))
	}
	writeJSON(w, http.StatusOK, map[string]any{"aids": out})
}

func (a *API) ownAid(w http.ResponseWriter, r *http.Request, admin string) (Registration, bool) {
	reg, err := a.aidStore.GetAid(r.Context(), admin, r.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		problem(w, http.StatusNotFound, "Not found", "You have published no aid with this id.", nil)
		return reg, false
	}
	if err != nil {
		a.unavailable(w, err)
		return reg, false
	}
	return reg, true
}

func (a *API) getAid(w http.ResponseWriter, r *http.Request, admin string) {
	if reg, ok := a.ownAid(w, r, admin); ok {
		setETag(w, reg)
		writeJSON(w, http.StatusOK, aidViewOf(reg))
	}
}

func (a *API) updateAid(w http.ResponseWriter, r *http.Request, admin string) {
	old, ok := a.ownAid(w, r, admin)
	if !ok {
		return
	}
	ifVersion, ok := a.ifMatch(w, r, admin, old)
	if !ok {
		return
	}
	p, ok := decodePublication(w, r)
	if !ok {
		return
	}
	if p.Aid.ID != old.ID {
		problem(w, http.StatusBadRequest, "Invalid publication", "The id in the body differs from the URL.", []Problem{{"aid.id", "must be " + old.ID}})
		return
	}
	if !a.checkAid(w, r, admin, &p) {
		return
	}
	spec, _ := json.Marshal(p)
	reg := old
	reg.Spec, reg.Active, reg.UpdatedAt = spec, true, a.cfg.Now().UTC()
	reg, ok = a.commit(w, r, a.aidRecorder(KindAidUpdate, admin, p.Aid.ID), func(ctx context.Context) (Registration, error) {
		return a.aidStore.UpdateAid(ctx, reg, ifVersion)
	})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, aidViewOf(reg))
}

func (a *API) retireAid(w http.ResponseWriter, r *http.Request, admin string) {
	old, ok := a.ownAid(w, r, admin)
	if !ok {
		return
	}
	ifVersion, ok := a.ifMatch(w, r, admin, old)
	if !ok {
		return
	}
	if !old.Active {
		setETag(w, old)
		writeJSON(w, http.StatusOK, aidViewOf(old))
		return
	}
	reg := old
	reg.Active, reg.UpdatedAt = false, a.cfg.Now().UTC()
	reg, ok = a.commit(w, r, a.aidRecorder(KindAidRetire, admin, old.ID), func(ctx context.Context) (Registration, error) {
		return a.aidStore.UpdateAid(ctx, reg, ifVersion)
	})
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, aidViewOf(reg))
}
