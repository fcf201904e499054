package gateway

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/adminapi"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/folder"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store"
)

func newEntryID() string { return "ae_" + rand.Text() }

// recorder commits audit entries for the exchange and the adapters, and
// times each commit (t may be nil).
type recorder struct {
	log *audit.Log
	t   *telemetry
}

func (r recorder) Record(ctx context.Context, e audit.Entry) error {
	return r.RecordAll(ctx, []audit.Entry{e})
}

// signinEvents records sign-ins. A failed sign-in has no subject yet: it is
// recorded under "-", visible to operators' verification but to no citizen.
type signinEvents struct {
	rec recorder
	log *slog.Logger
}

func (s signinEvents) SignedIn(ctx context.Context, subject, provider, loa, client string) error {
	return s.rec.Record(ctx, audit.Entry{Kind: audit.KindSignIn, Subject: subject, Requester: provider, Outcome: "ok", Error: loa,
		Client: client})
}

func (s signinEvents) SignInFailed(ctx context.Context, provider, reason string) {
	if err := s.rec.Record(ctx, audit.Entry{Kind: audit.KindSignInFailed, Subject: "-", Requester: provider, Outcome: "denied", Error: reason}); err != nil {
		s.log.Error("failed sign-in not recorded", "err", err)
	}
}

// signinsAdapter shows a citizen their sessions and ends them.
type signinsAdapter struct{ svc *signin.Service }

func (s signinsAdapter) SessionsOf(r *http.Request, subject string) ([]folder.Session, error) {
	infos, err := s.svc.SessionsOf(r.Context(), r, subject)
	if err != nil {
		return nil, err
	}
	out := make([]folder.Session, len(infos))
	for i, in := range infos {
		out[i] = folder.Session{ID: in.ID, Provider: in.Provider, LoA: in.LoA, Client: in.Client, CreatedAt: in.CreatedAt,
			LastSeen: in.LastSeen, Current: in.Current}
	}
	return out, nil
}

func (s signinsAdapter) EndSession(ctx context.Context, subject, id string) error {
	if err := s.svc.EndSession(ctx, subject, id); errors.Is(err, signin.ErrNotFound) {
		return folder.ErrNotFound
	} else if err != nil {
		return err
	}
	return nil
}

// sessionsAdapter shows the sign-in session to the pages.
type sessionsAdapter struct{ svc *signin.Service }

func (s sessionsAdapter) Current(r *http.Request) (folder.Viewer, bool) {
	v, err := s.Lookup(r)
	return v, err == nil
}

// Lookup implements folder.Sessions: folder.ErrSignedOut without a session,
// another error when the sessions cannot be read now.
func (s sessionsAdapter) Lookup(r *http.Request) (folder.Viewer, error) {
	sess, err := s.svc.Lookup(r)
	if errors.Is(err, signin.ErrNoSession) {
		return folder.Viewer{}, folder.ErrSignedOut
	}
	if err != nil {
		return folder.Viewer{}, err
	}
	id := sess.Identity
	self := exchange.Citizen{Subject: sess.Subject, LoA: id.LoA, Titular: connectors.Titular{DocType: id.DocType,
		DocNumber: id.DocNumber, Name: id.Name, Surname1: id.Surname1, Surname2: id.Surname2}}
	v := folder.Viewer{Subject: sess.Subject, Provider: id.Provider, Name: id.Name, LoA: id.LoA, CSRFSecret: sess.CSRFSecret,
		Citizen: self, Self: self, Employer: id.Employer, SignedInAt: sess.CreatedAt}
	var a folder.Acting
	if sess.Acting != nil && json.Unmarshal(sess.Acting, &a) == nil {
		switch {
		case a.Kind == folder.ActingCompany && a.NIF != "":
			// The company's folder: its pseudonym, its consents, its data;
			// each exchange names who acts for it.
			v.Acting, v.Subject = a, s.svc.SubjectOf(a.NIF)
			v.Citizen = exchange.Citizen{Subject: v.Subject, LoA: id.LoA, Titular: connectors.Titular{DocType: "NIF", DocNumber: a.NIF,
				Name: a.Company}, OnBehalfOf: a.NIF, Representative: sess.Subject}
		case a.Kind == folder.ActingEmployee && id.Employer != "":
			v.Acting = a
		}
	}
	return v, nil
}

// consentsAdapter offers only what a registered connector can fetch,
// records every grant and withdrawal in the audit log and deletes the facts
// a withdrawn grant let in.
type consentsAdapter struct {
	svc    *consent.Service
	served func(category string) bool // a registered connector serves it
	rec    recorder
	facts  exchange.FactStore
	log    *slog.Logger
	alerts *alerts.Service

	receipts   *consent.ReceiptSigner
	controller consent.Controller
	policyURL  string
}

func (c consentsAdapter) Offers() []consent.Offer {
	var out []consent.Offer
	for _, o := range c.svc.Offers() {
		if c.served(o.Category) {
			out = append(out, o)
		}
	}
	return out
}

func (c consentsAdapter) List(ctx context.Context, subject string) ([]consent.Grant, error) {
	return c.svc.List(ctx, subject)
}

// Grant stores the grant, then its audit entry; a grant that cannot be
// recorded is withdrawn at once, so none exists unrecorded.
func (c consentsAdapter) Grant(ctx context.Context, subject, category, purpose, version, lang string) (consent.Grant, error) {
	return c.GrantLimited(ctx, subject, category, purpose, version, lang, consent.Limits{})
}

// GrantLimited records a grant with the citizen's limits, recorded in the
// log as Grant's are.
func (c consentsAdapter) GrantLimited(ctx context.Context, subject, category, purpose, version, lang string, l consent.Limits) (consent.Grant, error) {
	if !c.served(category) {
		return consent.Grant{}, fmt.Errorf("%w: no connector serves %q", consent.ErrInvalid, category)
	}
	g, err := c.svc.GrantWithLimits(ctx, subject, category, purpose, version, lang, l)
	if err != nil {
		return g, err
	}
	if err := c.rec.Record(ctx, actedBy(ctx, grantEntry(audit.KindConsentGrant, g))); err != nil {
		if _, werr := c.svc.Withdraw(ctx, subject, g.ID); werr != nil {
			c.log.Error("unrecorded grant could not be withdrawn", "grant", g.ID, "err", werr)
		}
		return consent.Grant{}, err
	}
	return g, nil
}

// Pause pauses a grant, recorded first: paused, it authorises nothing (its
// data is kept, unused, until it is resumed or ends).
func (c consentsAdapter) Pause(ctx context.Context, subject, id string) (consent.Grant, error) {
	return c.pauseOrResume(ctx, subject, id, true)
}

// Resume resumes a paused grant, recorded first.
func (c consentsAdapter) Resume(ctx context.Context, subject, id string) (consent.Grant, error) {
	return c.pauseOrResume(ctx, subject, id, false)
}

func (c consentsAdapter) pauseOrResume(ctx context.Context, subject, id string, pause bool) (consent.Grant, error) {
	g, err := c.svc.Get(ctx, subject, id)
	if err != nil {
		return g, err
	}
	kind := "consent.resume"
	if pause {
		kind = "consent.pause"
	}
	if err := c.rec.Record(ctx, actedBy(ctx, grantEntry(kind, g))); err != nil {
		return consent.Grant{}, err
	}
	// Alerts check the consent when they are sent: a paused one sends
	// nothing, and the subscriptions wait for it to resume.
	if pause {
		return c.svc.Pause(ctx, subject, id)
	}
	return c.svc.Resume(ctx, subject, id)
}

// Withdraw never waits on the log: withdrawal takes effect first, then the
// facts it covered are deleted, then both are recorded.
func (c consentsAdapter) Withdraw(ctx context.Context, subject, id string) (consent.Grant, error) {
	g, err := c.svc.Withdraw(ctx, subject, id)
	if err != nil {
		return g, err
	}
	n, err := c.facts.DeleteFactsOfGrant(ctx, subject, id)
	if err != nil {
		c.log.Error("facts of a withdrawn grant not deleted", "grant", id, "err", err)
	}
	if err := c.rec.Record(ctx, actedBy(ctx, grantEntry(audit.KindConsentWithdraw, g))); err != nil {
		c.log.Error("withdrawal not recorded", "grant", id, "err", err)
	}
	if n > 0 {
		e := actedBy(ctx, grantEntry("facts.delete", g))
		if err := c.rec.Record(ctx, e); err != nil {
			c.log.Error("facts deletion not recorded", "grant", id, "err", err)
		}
	}
	// Without consent to alerts left, the subscriptions go too; alerts
	// queued before check consent again when they are sent.
	if err := c.alerts.ConsentChanged(ctx, subject); err != nil {
		c.log.Error("subscriptions of a withdrawn consent not deleted", "err", err)
	}
	return g, nil
}

// Receipt signs the receipt of the subject's grant: the grant as stored,
// the offer's texts in the language it was given in.
func (c consentsAdapter) Receipt(ctx context.Context, subject, id string) ([]byte, error) {
	g, err := c.svc.Get(ctx, subject, id)
	if err != nil {
		return nil, err
	}
	o, ok := c.svc.Offer(g.Category, g.Purpose)
	if !ok {
		return nil, fmt.Errorf("gateway: no offer for %s/%s", g.Category, g.Purpose)
	}
	return c.receipts.Sign(consent.ReceiptOf(g, o, c.controller, c.policyURL))
}

func grantEntry(kind string, g consent.Grant) audit.Entry {
	return audit.Entry{Kind: kind, Subject: g.Subject, Requester: g.Requester, Source: g.Source, Category: g.Category,
		Purpose: g.Purpose, ConsentID: g.ID, LegalBasis: g.LegalBasis, Outcome: "ok"}
}

// actedBy names, in e, who acted for a company in the request, if anyone.
func actedBy(ctx context.Context, e audit.Entry) audit.Entry {
	a := folder.ActorOf(ctx)
	e.OnBehalfOf, e.Representative = a.OnBehalfOf, a.Representative
	return e
}

type exchangerAdapter struct {
	ex *exchange.Exchanger
}

// alertingFacts is the store as the exchange keeps facts: when a fetch
// for recommendations keeps a subscribed citizen's new data, their
// re-evaluation for alerts is queued, the store saying whether they
// subscribed in the facts' own transaction (no read of its own).
type alertingFacts struct {
	*store.Store
	alerts *alerts.Service // set once the service is built, before anything is served
	log    *slog.Logger
}

// PutFactsAll implements exchange.FactStore.
func (f *alertingFacts) PutFactsAll(ctx context.Context, fs []exchange.SealedFacts) ([]error, error) {
	if len(fs) == 0 || fs[0].Purpose != "aid-recommendation" || f.alerts == nil {
		return f.Store.PutFactsAll(ctx, fs)
	}
	subject := fs[0].Subject // one fetch's sets: one citizen's
	errs, subscribed, err := f.Store.PutFactsAllSubscribed(ctx, fs, subject)
	if err != nil || !subscribed || !slices.Contains(errs, nil) {
		return errs, err
	}
	if err := f.alerts.Reevaluate(ctx, subject); err != nil {
		f.log.Error("re-evaluation for alerts not queued", "err", err)
	}
	return errs, nil
}

// FetchAll fetches (new data for a subscribed citizen queues their
// re-evaluation for alerts as it is kept: alertingFacts).
func (e exchangerAdapter) FetchAll(ctx context.Context, v folder.Viewer) []exchange.Result {
	if v.Acting.Kind == folder.ActingCompany {
		// The representation is checked again before the company's data
		// is asked for: one revoked since the switch asks nothing.
		if !e.stillRepresents(ctx, v) {
			return []exchange.Result{{Category: "company", Status: exchange.StatusDenied, Reason: "not-represented"}}
		}
		return e.ex.FetchAll(ctx, v.Citizen, "company-folder")
	}
	return e.ex.FetchAll(ctx, v.Citizen, "aid-recommendation")
}

// stillRepresents reports whether the register, asked now, still names the
// person as the company's representative.
func (e exchangerAdapter) stillRepresents(ctx context.Context, v folder.Viewer) bool {
	_, ok := represented(ctx, e.ex, v, v.Acting.NIF)
	return ok
}

// represented asks the register of representations now whether it names
// the viewer as the representative of the company nif, and returns it.
func represented(ctx context.Context, ex *exchange.Exchanger, v folder.Viewer, nif string) (folder.Company, bool) {
	res := ex.Fetch(ctx, v.Self, "representation", "acting-for")
	if res.Status != exchange.StatusOK {
		return folder.Company{}, false
	}
	cs := companiesOf(res.Facts)
	i := slices.IndexFunc(cs, func(c folder.Company) bool { return c.NIF == nif })
	if i < 0 {
		return folder.Company{}, false
	}
	return cs[i], true
}

// Fetch fetches one category, as FetchAll does.
func (e exchangerAdapter) Fetch(ctx context.Context, v folder.Viewer, category string) exchange.Result {
	return e.ex.Fetch(ctx, v.Citizen, category, "aid-recommendation")
}

// recommenderAdapter feeds the recommender only facts released by the guard
// for aid-recommendation, each use recorded.
type recommenderAdapter struct {
	ex  *exchange.Exchanger
	rec *recommend.Recommender
	log *slog.Logger
}

func (r recommenderAdapter) Recommend(ctx context.Context, v folder.Viewer) ([]recommend.Result, error) {
	facts, err := r.ex.Use(ctx, v.Citizen, "aid-recommendation")
	if err != nil {
		// Categories that failed are left out: the aids they decide show as
		// "maybe", never as decided on data that was not released.
		r.log.Warn("some facts not used", "err", err)
	}
	return r.rec.Recommend(ctx, recommend.Situation{Facts: facts})
}

// WhatIf compares the recommendation on the citizen's facts with one on
// the facts as w changes them; the changed facts exist only here.
func (r recommenderAdapter) WhatIf(ctx context.Context, v folder.Viewer, w recommend.WhatIf) ([]recommend.Change, error) {
	facts, err := r.ex.Use(ctx, v.Citizen, "aid-recommendation")
	if err != nil {
		r.log.Warn("some facts not used", "err", err)
	}
	s := recommend.Situation{Facts: facts}
	before, err := r.rec.Recommend(ctx, s)
	if err != nil {
		return nil, err
	}
	after, err := r.rec.Recommend(ctx, w.Apply(s, time.Now().UTC().Format(time.DateOnly)))
	if err != nil {
		return nil, err
	}
	return recommend.Compare(before, after), nil
}

// Aids is the recommender's catalogue.
func (r recommenderAdapter) Aids() []recommend.Aid { return r.rec.Aids() }

// personalAdapter keeps the folder's favourites, life events and layout in
// the store, where every replica reads them.
type personalAdapter struct {
	store *store.Store
	now   func() time.Time
}

func (p personalAdapter) Favourites(ctx context.Context, subject string) ([]folder.Favourite, error) {
	fs, err := p.store.Favourites(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]folder.Favourite, len(fs))
	for i, f := range fs {
		out[i] = folder.Favourite{Kind: f.Kind, Ref: f.Ref, Since: f.CreatedAt}
	}
	return out, nil
}

func (p personalAdapter) SetFavourite(ctx context.Context, subject string, f folder.Favourite, on bool) error {
	return p.store.SetFavourite(ctx, subject, f.Kind, f.Ref, on, p.now())
}

func (p personalAdapter) LifeEvents(ctx context.Context, subject string) ([]string, error) {
	es, err := p.store.LifeEvents(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Event
	}
	return out, nil
}

func (p personalAdapter) SetLifeEvent(ctx context.Context, subject, event string, on bool) error {
	return p.store.SetLifeEvent(ctx, subject, event, on, p.now())
}

func (p personalAdapter) Layout(ctx context.Context, subject string) (folder.Layout, error) {
	l, _, err := p.store.LayoutOf(ctx, subject)
	return folder.Layout{Sections: l.Sections, Hidden: l.Hidden}, err
}

func (p personalAdapter) SetLayout(ctx context.Context, subject string, l folder.Layout) error {
	return p.store.SetLayout(ctx, subject, store.Layout{Sections: l.Sections, Hidden: l.Hidden, UpdatedAt: p.now()})
}

// profilesAdapter finds the companies a person may act for in the
// register of representations (a connector like any other, under the
// person's consent) and switches a session's profile, writing each switch
// to the person's log.
type profilesAdapter struct {
	ex  *exchange.Exchanger
	si  *signin.Service
	rec recorder
	now func() time.Time
}

func (p profilesAdapter) Companies(ctx context.Context, v folder.Viewer) ([]folder.Company, error) {
	facts, err := p.ex.Use(ctx, v.Self, "acting-for")
	if err != nil && len(facts["representation"]) == 0 {
		return nil, err
	}
	f, ok := facts["representation"]
	if !ok {
		return nil, exchange.ErrNoFacts
	}
	return companiesOf(f), nil
}

// companiesOf reads the register's answer ("companies": [{nif, name,
// powers}]).
func companiesOf(f map[string]any) []folder.Company {
	list, _ := f["companies"].([]any)
	var out []folder.Company
	for _, x := range list {
		m, _ := x.(map[string]any)
		nif, _ := m["nif"].(string)
		name, _ := m["name"].(string)
		powers, _ := m["powers"].(string)
		if nif != "" {
			out = append(out, folder.Company{NIF: nif, Name: name, Powers: powers})
		}
	}
	return out
}

func (p profilesAdapter) Check(ctx context.Context, v folder.Viewer) exchange.Result {
	return p.ex.Fetch(ctx, v.Self, "representation", "acting-for")
}

// Act switches the session. Acting for a company asks the register again
// first: a representation revoked since the last answer is not used.
func (p profilesAdapter) Act(ctx context.Context, r *http.Request, v folder.Viewer, a folder.Acting) error {
	entry := audit.Entry{ID: newEntryID(), Kind: "profile.acting", Subject: v.Self.Subject, Outcome: "ok"}
	switch a.Kind {
	case folder.ActingEmployee:
		if v.Employer == "" {
			return folder.ErrNotRepresented
		}
		entry.Requester = v.Employer
	case folder.ActingCompany:
		c, ok := represented(ctx, p.ex, v, a.NIF)
		if !ok {
			return folder.ErrNotRepresented
		}
		a.Company = c.Name
		entry.OnBehalfOf, entry.Category, entry.Purpose = a.NIF, "representation", "acting-for"
	}
	// The switch is recorded before it takes effect.
	if err := p.rec.Record(ctx, entry); err != nil {
		return err
	}
	var sealed []byte
	if a.Kind != folder.ActingPerson {
		sealed, _ = json.Marshal(a)
	}
	return p.si.SetActing(ctx, r, sealed)
}

// usageAdapter reads the usage counts the store keeps with the audit
// entries.
type usageAdapter struct{ store *store.Store }

func (u usageAdapter) UsageOf(ctx context.Context, sources []string, from, to string) ([]adminapi.UsageRow, error) {
	rows, err := u.store.UsageOf(ctx, sources, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]adminapi.UsageRow, len(rows))
	for i, r := range rows {
		out[i] = adminapi.UsageRow{Day: r.Day, Source: r.Source, Requester: r.Requester, Purpose: r.Purpose, Category: r.Category,
			Kind: r.Kind, Outcome: r.Outcome, State: r.State, Count: r.Count}
	}
	return out, nil
}
