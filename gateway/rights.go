package gateway

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/folder"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/store"
)

// rightsAdapter serves the GDPR rights from the store, the consent service,
// the exchange and the audit log. Each right is recorded in the audit log
// before it is carried out, and is refused when it cannot be recorded.
type rightsAdapter struct {
	store    *store.Store
	consents *consent.Service
	ex       *exchange.Exchanger
	log      *audit.Log
	rec      recorder
	alerts   *alerts.Service
	docs     *documents.Service
	now      func() time.Time
}

func (a rightsAdapter) Export(ctx context.Context, v folder.Viewer) (folder.Export, error) {
	if err := a.rec.Record(ctx, audit.Entry{Kind: audit.KindRightsExport, Subject: v.Subject, Outcome: "ok"}); err != nil {
		return folder.Export{}, err
	}
	t := v.Citizen.Titular
	x := folder.Export{GeneratedAt: a.now().UTC(), Identity: folder.ExportIdentity{Provider: v.Provider, DocType: t.DocType,
		DocNumber: t.DocNumber, Name: t.Name, Surname1: t.Surname1, Surname2: t.Surname2, LoA: v.LoA, Subject: v.Subject}}
	var err error
	if x.Consents, err = a.consents.List(ctx, v.Subject); err != nil {
		return folder.Export{}, err
	}
	if x.Facts, err = a.ex.Held(ctx, v.Subject); err != nil {
		return folder.Export{}, err
	}
	entries, err := a.log.EntriesOf(ctx, v.Subject, audit.Filter{})
	if err != nil {
		return folder.Export{}, err
	}
	for _, e := range entries {
		x.Access = append(x.Access, e.Entry)
	}
	sessions, err := a.store.SessionsOf(ctx, v.Subject)
	if err != nil {
		return folder.Export{}, err
	}
	for _, s := range sessions {
		x.Sessions = append(x.Sessions, folder.ExportSession{CreatedAt: s.CreatedAt, LastSeen: s.LastSeen})
	}
	if x.Objections, err = a.store.Objections(ctx, v.Subject); err != nil {
		return folder.Export{}, err
	}
	subs, err := a.alerts.Subscriptions(ctx, v.Subject)
	if err != nil {
		return folder.Export{}, err
	}
	for _, s := range subs {
		es := folder.ExportSubscription{Channel: s.Channel, Target: s.Target, Language: s.Lang, Since: s.Since}
		if s.QuietFrom != s.QuietTo {
			es.QuietFrom, es.QuietTo = alerts.Clock(s.QuietFrom), alerts.Clock(s.QuietTo)
		}
		x.Alerts = append(x.Alerts, es)
	}
	docs, err := a.docs.Of(ctx, v.Subject)
	if err != nil {
		return folder.Export{}, err
	}
	for _, d := range docs {
		ed := folder.ExportDocument{Type: string(d.Type), Code: d.CSV, IssuedAt: d.IssuedAt, ValidUntil: d.ValidUntil, Fields: d.Fields}
		if d.Revoked() {
			at := d.RevokedAt
			ed.RevokedAt = &at
		}
		x.Documents = append(x.Documents, ed)
	}
	favs, err := a.store.Favourites(ctx, v.Subject)
	if err != nil {
		return folder.Export{}, err
	}
	for _, f := range favs {
		x.Favourites = append(x.Favourites, folder.ExportFavourite{Kind: f.Kind, Ref: f.Ref, Since: f.CreatedAt})
	}
	events, err := a.store.LifeEvents(ctx, v.Subject)
	if err != nil {
		return folder.Export{}, err
	}
	for _, e := range events {
		x.LifeEvents = append(x.LifeEvents, folder.ExportLifeEvent{Event: e.Event, Since: e.Since})
	}
	if l, ok, err := a.store.LayoutOf(ctx, v.Subject); err != nil {
		return folder.Export{}, err
	} else if ok {
		x.Layout = &folder.ExportLayout{Sections: l.Sections, Hidden: l.Hidden, UpdatedAt: l.UpdatedAt}
	}
	return x, nil
}

// Erase records the erasure, then deletes everything of the subject in one
// transaction; the record of the erasure is the one entry that stays
// readable (it holds nothing but the pseudonym and the time).
func (a rightsAdapter) Erase(ctx context.Context, v folder.Viewer) error {
	id := newEntryID()
	if err := a.rec.Record(ctx, audit.Entry{ID: id, Kind: audit.KindRightsErasure, Subject: v.Subject, Outcome: "ok"}); err != nil {
		return err
	}
	_, err := a.store.EraseSubject(ctx, v.Subject, id)
	return err
}

func (a rightsAdapter) Object(ctx context.Context, v folder.Viewer, kind string, on bool) error {
	state := "lifted"
	if on {
		state = "made"
	}
	if err := a.rec.Record(ctx, actedBy(ctx, audit.Entry{Kind: audit.KindRightsObjection, Subject: v.Subject, Purpose: kind, Outcome: state})); err != nil {
		return err
	}
	return a.store.SetObjection(ctx, v.Subject, kind, on, a.now().UTC())
}

func (a rightsAdapter) Objections(ctx context.Context, subject string) (map[string]time.Time, error) {
	return a.store.Objections(ctx, subject)
}

// Retention deletes the facts whose retention ended by now and records each
// deletion in the audit log. make run runs it every few minutes; tests call
// it with the time they want.
func (g *Gateway) Retention(ctx context.Context, now time.Time) (int, error) {
	purged, err := g.Store.PurgeExpiredFacts(ctx, now)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, f := range purged {
		errs = append(errs, recorder{log: g.Audit}.Record(ctx, audit.Entry{Kind: audit.KindFactsExpire, Subject: f.Subject,
			Category: f.Category, ConsentID: f.GrantID, Outcome: "ok"}))
	}
	return len(purged), errors.Join(errs...)
}

// retentionLoop runs Retention every period until ctx ends.
func (g *Gateway) retentionLoop(ctx context.Context, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := g.Retention(ctx, now); err != nil {
				log.Error("retention", "err", err)
			} else if n > 0 {
				log.Info("retention: expired facts deleted", "count", n)
			}
		}
	}
}

// questionnaireAdapter places anonymous answers and counts the placements:
// nothing else of the visit is kept.
type questionnaireAdapter struct {
	rec   *recommend.Recommender
	store *store.Store
	now   func() time.Time
}

func (q questionnaireAdapter) Place(ctx context.Context, a recommend.Answers) (recommend.Placement, []recommend.Aid, error) {
	p := recommend.Place(a)
	if err := q.store.CountPlacement(ctx, counted(p.Archetype), q.now()); err != nil {
		return recommend.Placement{}, nil, err
	}
	return p, q.rec.Package(p.Archetype, a.Where), nil
}

func (q questionnaireAdapter) Peers(ctx context.Context, archetype string) (int64, error) {
	return q.store.Placements(ctx, counted(archetype), q.now().AddDate(0, 0, -30))
}

// counted is the name a placement is counted under: "none" for answers no
// profile fits.
func counted(archetype string) string {
	if archetype == recommend.None {
		return "none"
	}
	return archetype
}
