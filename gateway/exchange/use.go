package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/policy"
)

// KindFactsUse is the audit kind of a use of stored facts for a purpose.
const KindFactsUse = "facts.use"

// Use returns the stored facts of every category the citizen consented to
// for purpose, each released through the guard (purpose limitation and
// minimisation) and recorded in the audit log before it is read. A category
// whose consent lookup, decision or audit record fails is left out.
func (e *Exchanger) Use(ctx context.Context, c Citizen, purpose string) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	var errs []error
	for _, cat := range e.categories() {
		vals, err := e.use(ctx, c, cat, purpose)
		switch {
		case err == nil:
			out[cat] = vals
		case errors.Is(err, ErrNoFacts), errors.Is(err, consent.ErrNoConsent):
		default:
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

func (e *Exchanger) use(ctx context.Context, c Citizen, category, purpose string) (map[string]any, error) {
	if law, _ := e.cfg.Purposes[purpose].onLaw(); law {
		return e.useOnLaw(ctx, c, category, purpose)
	}
	g, err := e.cfg.Consents.Active(ctx, c.Subject, category, purpose)
	if err != nil {
		return nil, err
	}
	now := e.cfg.Now().UTC()
	sf, err := e.cfg.Facts.GetFacts(ctx, c.Subject, category, purpose, now)
	if err != nil && !errors.Is(err, ErrNoFacts) {
		return nil, err
	}
	if err != nil || sf.GrantID != g.ID {
		// None fetched under this grant: facts fetched for another purpose
		// are this one's to use only if it reuses that purpose and the
		// grant they were fetched under is still in force.
		reuse := e.cfg.Purposes[purpose].Reuses
		if reuse == "" {
			return nil, ErrNoFacts
		}
		fg, err := e.cfg.Consents.Active(ctx, c.Subject, category, reuse)
		if errors.Is(err, consent.ErrNoConsent) {
			return nil, ErrNoFacts
		}
		if err != nil {
			return nil, err
		}
		if sf, err = e.cfg.Facts.GetFacts(ctx, c.Subject, category, reuse, now); err != nil {
			return nil, err
		}
		if sf.GrantID != fg.ID {
			return nil, ErrNoFacts
		}
	}
	vals, entry, err := e.release(ctx, c, category, purpose, g, sf, now)
	if err != nil {
		return nil, err
	}
	if err := e.cfg.Audit.Record(ctx, entry); err != nil {
		return nil, err
	}
	return vals, nil
}

// useOnLaw releases the stored facts of a purpose that runs on a law: the
// guard's law decides (and, for one the citizen may object to, their
// objection), the use is recorded first.
func (e *Exchanger) useOnLaw(ctx context.Context, c Citizen, category, purpose string) (map[string]any, error) {
	p := e.cfg.Purposes[purpose]
	now := e.cfg.Now().UTC()
	sf, err := e.cfg.Facts.GetFacts(ctx, c.Subject, category, purpose, now)
	if err != nil {
		return nil, err
	}
	if sf.GrantID != "" {
		return nil, ErrNoFacts // fetched under a consent, for another purpose
	}
	objected := false
	if _, noopo := p.onLaw(); noopo {
		if e.cfg.Objected == nil {
			return nil, errors.New("exchange: no objections to ask")
		}
		if objected, err = e.cfg.Objected(ctx, c.Subject, purpose); err != nil {
			return nil, err
		}
	}
	vals, entry, err := e.open(ctx, c, category, purpose, sf, now, func(in *policy.Input) {
		in.LegalBasis, in.Objected = p.LegalBasis, objected
	})
	if err != nil {
		return nil, err
	}
	entry.LegalBasis = p.LegalBasis
	if err := e.cfg.Audit.Record(ctx, entry); err != nil {
		return nil, err
	}
	return vals, nil
}

// release opens sf and asks the guard which of its fields purpose may use
// under grant g. It returns those values and the audit entry that must be
// committed before they are used.
func (e *Exchanger) release(ctx context.Context, c Citizen, category, purpose string, g consent.Grant, sf SealedFacts, now time.Time) (map[string]any, audit.Entry, error) {
	vals, entry, err := e.open(ctx, c, category, purpose, sf, now, func(in *policy.Input) {
		in.Consent = &policy.Consent{ID: g.ID, Category: g.Category, Purpose: g.Purpose, Requester: g.Requester,
			Source: g.Source, LegalBasis: g.LegalBasis, Active: true, ExpiresAt: g.ExpiresAt.Unix()}
	})
	entry.ConsentID, entry.LegalBasis = g.ID, g.LegalBasis
	return vals, entry, err
}

// open opens sf and asks the guard, on the input basis sets, which of its
// fields purpose may use; it returns those values and the entry to commit
// before they are used.
func (e *Exchanger) open(ctx context.Context, c Citizen, category, purpose string, sf SealedFacts, now time.Time, basis func(*policy.Input)) (map[string]any, audit.Entry, error) {
	plain, err := e.cfg.Sealer.Open(sf.Sealed, factsContext(c.Subject, category))
	if err != nil {
		return nil, audit.Entry{}, err
	}
	// Only the values are used: the rest of the stored connectors.Facts
	// is skipped rather than decoded (its time, its strings).
	var f struct{ Values map[string]any }
	if err := json.Unmarshal(plain, &f); err != nil {
		return nil, audit.Entry{}, err
	}
	conn, ok := e.connector(category)
	if !ok {
		return nil, audit.Entry{}, ErrNoFacts
	}
	d := describe(conn)
	fields := make([]string, 0, len(f.Values))
	for k := range f.Values {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	in := policy.Input{
		Subject: c.Subject, LoA: c.LoA, Purpose: purpose, Requester: e.cfg.Requester.ID,
		Connector: d.ID, Category: category, Source: d.Source, RequestedField: fields, Now: now.Unix(),
	}
	basis(&in)
	dec, err := e.cfg.Guard.Decide(ctx, in)
	if err != nil {
		return nil, audit.Entry{}, err
	}
	if !dec.Allow {
		return nil, audit.Entry{}, consent.ErrNoConsent
	}
	entry := audit.Entry{
		ID: e.cfg.NewID(), Time: now, Kind: KindFactsUse, Subject: c.Subject, OnBehalfOf: c.OnBehalfOf, Representative: c.Representative,
		Requester: e.cfg.Requester.ID, Source: d.Source, Connector: d.ID, Category: category,
		Purpose: purpose, Fields: dec.Fields,
		DecisionID: dec.ID, PolicyVersion: dec.PolicyVersion, InputHash: dec.InputHash, Outcome: "ok",
	}
	vals := map[string]any{}
	for _, k := range dec.Fields {
		if v, ok := f.Values[k]; ok {
			vals[k] = v
		}
	}
	return vals, entry, nil
}

// BatchStore reads the grants and facts of many citizens at once, for
// background jobs that evaluate thousands of them.
type BatchStore interface {
	// ActiveGrantsOf returns the grants in force at at, for any of the
	// subjects (sorted) and purposes.
	ActiveGrantsOf(ctx context.Context, subjects, purposes []string, at time.Time) ([]consent.Grant, error)
	// FactsOf returns the unexpired facts of the subjects (sorted) in the
	// categories, fetched for any of the purposes.
	FactsOf(ctx context.Context, subjects, categories, purposes []string, at time.Time) ([]SealedFacts, error)
}

// BatchRecorder commits many audit entries in one transaction.
type BatchRecorder interface {
	RecordAll(ctx context.Context, entries []audit.Entry) error
}

// UseMany is Use for many citizens and only the given categories: the
// grants and facts are read in two queries, every category of every citizen
// is still released by its own guard decision, and all the uses are
// committed to the audit log in one batch before any value is returned. If
// that batch cannot be committed, nothing is returned.
func (e *Exchanger) UseMany(ctx context.Context, b BatchStore, rec BatchRecorder, cs []Citizen, categories []string, purpose string) (map[string]map[string]map[string]any, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	subjects := make([]string, len(cs))
	for i, c := range cs {
		subjects[i] = c.Subject
	}
	slices.Sort(subjects)
	now := e.cfg.Now().UTC()
	reuse := e.cfg.Purposes[purpose].Reuses
	purposes := []string{purpose}
	if reuse != "" {
		purposes = append(purposes, reuse)
	}
	grants, err := b.ActiveGrantsOf(ctx, subjects, purposes, now)
	if err != nil {
		return nil, fmt.Errorf("exchange: grants: %w", err)
	}
	type key struct{ subject, category, purpose string }
	active := map[key]consent.Grant{}
	for _, g := range grants {
		k := key{g.Subject, g.Category, g.Purpose}
		if old, ok := active[k]; !ok || g.GrantedAt.After(old.GrantedAt) {
			active[k] = g
		}
	}
	facts, err := b.FactsOf(ctx, subjects, categories, purposes, now)
	if err != nil {
		return nil, fmt.Errorf("exchange: facts: %w", err)
	}
	held := make(map[key]SealedFacts, len(facts))
	for _, f := range facts {
		held[key{f.Subject, f.Category, f.Purpose}] = f
	}
	out := map[string]map[string]map[string]any{}
	var entries []audit.Entry
	for _, c := range cs {
		for _, cat := range categories {
			g, ok := active[key{c.Subject, cat, purpose}]
			if !ok {
				continue
			}
			sf, ok := held[key{c.Subject, cat, purpose}]
			if !ok || sf.GrantID != g.ID {
				// As in Use: the reused purpose's facts, under its grant.
				fg, fok := active[key{c.Subject, cat, reuse}]
				sf, ok = held[key{c.Subject, cat, reuse}]
				if reuse == "" || !fok || !ok || fg.ID != sf.GrantID {
					continue
				}
			}
			vals, entry, err := e.release(ctx, c, cat, purpose, g, sf, now)
			if err != nil {
				if errors.Is(err, consent.ErrNoConsent) || errors.Is(err, ErrNoFacts) {
					continue
				}
				return nil, err // the guard failed: fail closed for the batch
			}
			if out[c.Subject] == nil {
				out[c.Subject] = map[string]map[string]any{}
			}
			out[c.Subject][cat] = vals
			entries = append(entries, entry)
		}
	}
	if len(entries) > 0 {
		if err := rec.RecordAll(ctx, entries); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Held returns every set of facts stored for the subject, opened, for the
// citizen's own access request (GDPR Art. 15 and 20): it is not a use for
// a purpose, so it does not go through the guard.
func (e *Exchanger) Held(ctx context.Context, subject string) ([]HeldFacts, error) {
	held, err := e.cfg.Facts.FactsHeld(ctx, subject, e.cfg.Now().UTC())
	if err != nil {
		return nil, err
	}
	out := make([]HeldFacts, 0, len(held))
	for _, sf := range held {
		plain, err := e.cfg.Sealer.Open(sf.Sealed, factsContext(subject, sf.Category))
		if err != nil {
			return nil, err
		}
		var f connectors.Facts
		if err := json.Unmarshal(plain, &f); err != nil {
			return nil, err
		}
		out = append(out, HeldFacts{Purpose: sf.Purpose, Facts: f})
	}
	return out, nil
}

// HeldFacts are facts kept for a citizen and the purpose they were
// fetched for.
type HeldFacts struct {
	Purpose string `json:"purpose"`
	connectors.Facts
}
