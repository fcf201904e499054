package exchange

import (
	"context"
	"encoding/json"
	"errors"
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
	g, err := e.cfg.Consents.Active(ctx, c.Subject, category, purpose)
	if err != nil {
		return nil, err
	}
	now := e.cfg.Now().UTC()
	sf, err := e.cfg.Facts.GetFacts(ctx, c.Subject, category, now)
	if err != nil {
		return nil, err
	}
	if sf.GrantID != g.ID {
		// Facts fetched under another grant (a different purpose) are not
		// this purpose's to use.
		return nil, ErrNoFacts
	}
	plain, err := e.cfg.Sealer.Open(sf.Sealed, factsContext(c.Subject, category))
	if err != nil {
		return nil, err
	}
	var f connectors.Facts
	if err := json.Unmarshal(plain, &f); err != nil {
		return nil, err
	}
	conn, ok := e.connector(category)
	if !ok {
		return nil, ErrNoFacts
	}
	d := describe(conn)
	fields := make([]string, 0, len(f.Values))
	for k := range f.Values {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	dec, err := e.cfg.Guard.Decide(ctx, policy.Input{
		Subject: c.Subject, LoA: c.LoA, Purpose: purpose, Requester: e.cfg.Requester.ID,
		Connector: d.ID, Category: category, Source: d.Source, RequestedField: fields,
		Consent: &policy.Consent{ID: g.ID, Category: g.Category, Purpose: g.Purpose, Requester: g.Requester,
			Source: g.Source, LegalBasis: g.LegalBasis, Active: true, ExpiresAt: g.ExpiresAt.Format(time.RFC3339)},
		Now: now.Format(time.RFC3339),
	})
	if err != nil {
		return nil, err
	}
	if !dec.Allow {
		return nil, consent.ErrNoConsent
	}
	if err := e.cfg.Audit.Record(ctx, audit.Entry{
		ID: e.cfg.NewID(), Time: now, Kind: KindFactsUse, Subject: c.Subject,
		Requester: e.cfg.Requester.ID, Source: d.Source, Connector: d.ID, Category: category,
		Purpose: purpose, Fields: dec.Fields, ConsentID: g.ID, LegalBasis: g.LegalBasis,
		DecisionID: dec.ID, PolicyVersion: dec.PolicyVersion, InputHash: dec.InputHash, Outcome: "ok",
	}); err != nil {
		return nil, err
	}
	vals := map[string]any{}
	for _, k := range dec.Fields {
		if v, ok := f.Values[k]; ok {
			vals[k] = v
		}
	}
	return vals, nil
}

// Held returns every category of facts stored for the subject, opened, for
// the citizen's own access request (GDPR Art. 15 and 20): it is not a use
// for a purpose, so it does not go through the guard.
func (e *Exchanger) Held(ctx context.Context, subject string) ([]connectors.Facts, error) {
	var out []connectors.Facts
	now := e.cfg.Now().UTC()
	for _, cat := range e.categories() {
		sf, err := e.cfg.Facts.GetFacts(ctx, subject, cat, now)
		if errors.Is(err, ErrNoFacts) {
			continue
		}
		if err != nil {
			return nil, err
		}
		plain, err := e.cfg.Sealer.Open(sf.Sealed, factsContext(subject, cat))
		if err != nil {
			return nil, err
		}
		var f connectors.Facts
		if err := json.Unmarshal(plain, &f); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}
