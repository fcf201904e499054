package folder

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/web"
)

func (h *Handler) homeShow(w http.ResponseWriter, r *http.Request) {
	ret := web.LocalPath(r.URL.Query().Get("return"), "/folder")
	h.render(w, r, http.StatusOK, "home", "home.title", map[string]any{"ClaveEnabled": h.opts.ClaveEnabled, "Return": ret})
}

// privacyShow is the record of processing activities (GDPR Art. 30),
// generated from the consent offers and the registered connectors, so it
// says what the code does.
func (h *Handler) privacyShow(w http.ResponseWriter, r *http.Request) {
	lang := web.Lang(r)
	type conn struct {
		connectors.Description
		CategoryKey string
		FieldNames  string
	}
	byCat := map[string][]conn{}
	for _, d := range h.opts.Connectors {
		var names []string
		for _, f := range d.Fields {
			names = append(names, h.named(lang, "field.", f))
		}
		byCat[string(d.Category)] = append(byCat[string(d.Category)], conn{Description: d, CategoryKey: "category." + string(d.Category),
			FieldNames: strings.Join(names, ", ")})
	}
	type activity struct {
		offerView
		Connectors []conn
	}
	var acts []activity
	for _, o := range h.offers(lang, nil) {
		acts = append(acts, activity{offerView: o, Connectors: byCat[o.Category]})
	}
	h.render(w, r, http.StatusOK, "privacy", "privacy.title", map[string]any{"Activities": acts, "Controller": h.opts.Controller})
}

type offerView struct {
	consent.Offer
	Text   consent.OfferText
	Active bool
}

func (h *Handler) offers(lang string, grants []consent.Grant) []offerView {
	now := h.opts.Now()
	var out []offerView
	for _, o := range h.deps.Consents.Offers() {
		v := offerView{Offer: o, Text: o.Texts[lang]}
		v.Active = slices.ContainsFunc(grants, func(g consent.Grant) bool {
			return g.Category == o.Category && g.Purpose == o.Purpose && g.ActiveAt(now)
		})
		out = append(out, v)
	}
	return out
}

type grantView struct {
	ID, CategoryKey, PurposeKey, GrantedText, StateText string
	Active, Paused                                      bool
}

func dateIn(lang string, t time.Time) string {
	if lang == "en" {
		return t.Format("2 January 2006")
	}
	return t.Format("02/01/2006")
}

func (h *Handler) consentShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	grants, err := h.deps.Consents.List(r.Context(), v.Subject)
	if err != nil {
		h.deps.Logger.Error("list consents", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	lang, now, c := web.Lang(r), h.opts.Now(), h.deps.Catalogue
	var active, past []grantView
	for _, g := range grants {
		x := grantView{ID: g.ID, CategoryKey: "category." + g.Category, PurposeKey: "purpose." + g.Purpose,
			GrantedText: c.T(lang, "consent.granted_on", dateIn(lang, g.GrantedAt)), Active: g.ActiveAt(now)}
		switch g.State(now) {
		case "withdrawn":
			x.StateText = c.T(lang, "consent.withdrawn", dateIn(lang, g.WithdrawnAt))
		case "expired":
			x.StateText = c.T(lang, "consent.expired", dateIn(lang, g.ExpiresAt))
		case "paused":
			x.Paused = true
			x.StateText = c.T(lang, "consent.paused", dateIn(lang, g.PausedAt.In(madrid)), dateIn(lang, g.ExpiresAt))
		default:
			x.StateText = c.T(lang, "consent.active", dateIn(lang, g.ExpiresAt))
		}
		if g.MinInterval > 0 {
			x.StateText += ". " + c.T(lang, "consent.limit_interval", c.T(lang, "consent.every."+g.MinInterval.String()))
		}
		if g.DataLife > 0 {
			x.StateText += ". " + c.T(lang, "consent.limit_life", c.T(lang, "consent.life."+g.DataLife.String()))
		}
		switch {
		case g.FromYear != 0 && g.ToYear != 0:
			x.StateText += ". " + c.T(lang, "consent.limit_years", g.FromYear, g.ToYear)
		case g.FromYear != 0:
			x.StateText += ". " + c.T(lang, "consent.limit_years_from", g.FromYear)
		case g.ToYear != 0:
			x.StateText += ". " + c.T(lang, "consent.limit_years_to", g.ToYear)
		}
		if g.InForceAt(now) {
			active = append(active, x)
		} else {
			past = append(past, x)
		}
	}
	// What is given comes first, next to the confirmation of a change;
	// then what may still be given, each offer short with its full text
	// folded.
	var open []offerView
	for _, o := range h.offers(lang, grants) {
		if !o.Active && len(offersFor(v, []consent.Offer{o.Offer})) == 1 {
			open = append(open, o)
		}
	}
	objections, err := h.deps.Rights.Objections(r.Context(), v.Subject)
	if err != nil {
		h.unavailable(w, r, "objections", err)
		return
	}
	h.render(w, r, http.StatusOK, "consent", "consent.title", map[string]any{"Offers": open, "Active": active, "Past": past,
		"OnLaw": h.onLaw(r.Context(), lang, v, objections), "Years": consent.TaxYears(now)})
}

// formField parses the form field name into dst when it is given; it
// reports false for a value that does not parse.
func formField[T any](r *http.Request, name string, parse func(string) (T, error), dst *T) bool {
	v := r.PostFormValue(name)
	if v == "" {
		return true
	}
	x, err := parse(v)
	if err != nil {
		return false
	}
	*dst = x
	return true
}

// consentReceipt downloads the signed receipt of one of the citizen's grants.
func (h *Handler) consentReceipt(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	b, err := h.deps.Consents.Receipt(r.Context(), v.Subject, id)
	if errors.Is(err, consent.ErrNotFound) {
		h.Error(w, r, http.StatusNotFound, "error.consent_not_found")
		return
	}
	if err != nil {
		h.deps.Logger.Error("consent receipt", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="obert-consent-receipt-`+safeName(id)+`.json"`)
	w.Write(b)
}

// safeName keeps what a file name may carry.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return -1
	}, s)
}

func (h *Handler) consentGrant(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	picked := r.PostForm["grant"]
	if len(picked) == 0 {
		h.Error(w, r, http.StatusBadRequest, "consent.nothing_ticked")
		return
	}
	// Check every ticked offer before writing any, so a bad one writes none.
	type want struct {
		cat, purpose, version string
		limits                consent.Limits
	}
	var wants []want
	for _, p := range picked {
		cat, purpose, _ := strings.Cut(p, ".")
		version := r.PostFormValue("version." + p)
		var l consent.Limits
		if !formField(r, "interval."+p, time.ParseDuration, &l.MinInterval) || !formField(r, "life."+p, time.ParseDuration, &l.DataLife) ||
			!formField(r, "from_year."+p, strconv.Atoi, &l.FromYear) || !formField(r, "to_year."+p, strconv.Atoi, &l.ToYear) {
			h.Error(w, r, http.StatusBadRequest, "error.invalid_consent")
			return
		}
		o, known := h.offerOf(cat, purpose)
		if !known || version != o.TextVersion || len(offersFor(v, []consent.Offer{o})) == 0 {
			h.Error(w, r, http.StatusBadRequest, "error.invalid_consent")
			return
		}
		wants = append(wants, want{cat, purpose, version, l})
	}
	for _, x := range wants {
		if _, err := h.deps.Consents.GrantLimited(WithActor(r.Context(), v), v.Subject, x.cat, x.purpose, x.version, web.Lang(r), x.limits); err != nil {
			if errors.Is(err, consent.ErrInvalid) {
				h.Error(w, r, http.StatusBadRequest, "error.invalid_consent")
				return
			}
			h.deps.Logger.Error("grant consent", "err", err)
			h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
			return
		}
	}
	http.Redirect(w, r, "/folder/consent?done=saved", http.StatusSeeOther)
}

func (h *Handler) offerOf(cat, purpose string) (consent.Offer, bool) {
	for _, o := range h.deps.Consents.Offers() {
		if o.Category == cat && o.Purpose == purpose {
			return o, true
		}
	}
	return consent.Offer{}, false
}

// consentPause pauses or resumes a grant.
func (h *Handler) consentPause(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	pause := strings.HasSuffix(r.URL.Path, "/pause")
	var err error
	if pause {
		_, err = h.deps.Consents.Pause(WithActor(r.Context(), v), v.Subject, r.PathValue("id"))
	} else {
		_, err = h.deps.Consents.Resume(WithActor(r.Context(), v), v.Subject, r.PathValue("id"))
	}
	switch {
	case errors.Is(err, consent.ErrNotFound):
		h.Error(w, r, http.StatusNotFound, "error.consent_not_found")
	case errors.Is(err, consent.ErrAlreadyWithdrawn), errors.Is(err, consent.ErrInvalid):
		h.Error(w, r, http.StatusConflict, "error.already_withdrawn")
	case err != nil:
		h.unavailable(w, r, "pause consent", err)
	case pause:
		http.Redirect(w, r, "/folder/consent?done=paused_done", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/folder/consent?done=resumed_done", http.StatusSeeOther)
	}
}

func (h *Handler) consentWithdraw(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	_, err := h.deps.Consents.Withdraw(WithActor(r.Context(), v), v.Subject, r.PathValue("id"))
	switch {
	case errors.Is(err, consent.ErrNotFound):
		h.Error(w, r, http.StatusNotFound, "error.consent_not_found")
	case errors.Is(err, consent.ErrAlreadyWithdrawn):
		h.Error(w, r, http.StatusConflict, "error.already_withdrawn")
	case err != nil:
		h.deps.Logger.Error("withdraw consent", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	default:
		http.Redirect(w, r, returnTo(r, "/folder/consent")+"?done=withdrawn_done", http.StatusSeeOther)
	}
}

// purposeOnBasis is the purpose that runs on a law basis.
func (h *Handler) purposeOnBasis(basis string) (catalogue.Purpose, bool) {
	i := slices.IndexFunc(h.opts.Purposes, func(p catalogue.Purpose) bool {
		return p.LegalBasis == basis && p.Kind() != catalogue.BasisConsent
	})
	if i < 0 {
		return catalogue.Purpose{}, false
	}
	return h.opts.Purposes[i], true
}

// short is the start of a digest, enough to tell it apart on a page (the
// proof carries it whole).
func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12] + "…"
	}
	return digest
}

// returnTo is where an action taken from another page goes back to: the
// access log, or the action's own page.
func returnTo(r *http.Request, own string) string {
	if ret := r.PostFormValue("return"); ret == "/folder/access" || ret == "/folder/consent" {
		return ret
	}
	return own
}

type factView struct{ Name, Value string }

type resultView struct {
	Category, Status, CategoryKey, StatusKey, WhatToDoKey string
	Facts                                                 []factView
	StepUp                                                string // sign in again at a higher level, and back
}

func (h *Handler) dataFetch(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	var out []resultView
	lang := web.Lang(r)
	for _, res := range h.deps.Exchanger.FetchAll(r.Context(), v) {
		rv := resultView{Category: res.Category, Status: string(res.Status), CategoryKey: "category." + res.Category,
			StatusKey: "data.status." + string(res.Status)}
		if res.Status != exchange.StatusOK {
			// What the citizen can do, for the reason when it says more
			// (the source does not know them, is still at it, they
			// objected) than the status.
			rv.WhatToDoKey = "data.what_to_do." + string(res.Status)
			if res.Reason != "" && h.deps.Catalogue.Has("data.what_to_do."+res.Reason) {
				rv.WhatToDoKey = "data.what_to_do." + res.Reason
			}
			if res.Reason == "loa-too-low" {
				rv.StepUp = StepUp(v, nextLevel(v.LoA), "/folder")
			}
		}
		for _, k := range sortedKeys(res.Facts) {
			rv.Facts = append(rv.Facts, factView{h.named(lang, "field.", k), h.factValue(lang, k, res.Facts[k])})
		}
		out = append(out, rv)
	}
	h.render(w, r, http.StatusOK, "data", "data.title", map[string]any{"Results": out})
}

// factValue writes a fact as a person reads it in lang: yes or no, dates
// and amounts as the locale writes them, the companies of a
// representation by name, a dash for nothing.
func (h *Handler) factValue(lang, field string, v any) string {
	switch x := v.(type) {
	case bool:
		return h.deps.Catalogue.T(lang, fmt.Sprintf("value.%t", x))
	case string:
		if x == "" {
			return "—"
		}
		if d, err := time.Parse(time.DateOnly, x); err == nil {
			return dateIn(lang, d)
		}
		return x
	case float64, int, int64, json.Number:
		n, _ := strconv.ParseFloat(fmt.Sprint(x), 64)
		if field == "income_annual" {
			return formatEuros(lang, int(n))
		}
		return strconv.FormatFloat(n, 'f', -1, 64)
	case []any:
		var parts []string
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				parts = append(parts, fmt.Sprintf("%v (%v)", m["name"], m["nif"]))
			} else {
				parts = append(parts, fmt.Sprint(e))
			}
		}
		if len(parts) == 0 {
			return "—"
		}
		return strings.Join(parts, "; ")
	case nil:
		return "—"
	}
	return fmt.Sprint(v)
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

type entryView struct {
	ID, KindKey, When, ISOTime, Category, CategoryKey, Fields, Who, PurposeKey, Basis, OutcomeKey string
	Connector, Decision, ErrorClass, ConsentID                                                    string
	// Acting from the entry: withdraw the consent it ran under (while
	// active), or object to the processing it belongs to (proactive
	// profiling, while not objected). The newest entry of a consent on the
	// page holds the form; older ones point to it (WithdrawAt).
	Withdraw, Object  bool
	WithdrawAt        string
	ObjectTo          string // a purpose on a law unless the citizen objects
	Officer, CaseFile string
	Period            int // the tax year asked about, when bounded
	// OnBehalfOf is the company acted for; ActedBy who acted for it, in
	// words.
	OnBehalfOf, ActedBy string
	Because             string // the reason, in words
	Index               int64
}

type option struct {
	Value, Label string
	Selected     bool
}

// accessFilter reads the filter form; a malformed date is an error, not an
// empty result.
func accessFilter(r *http.Request) (audit.Filter, bool) {
	q := r.URL.Query()
	f := audit.Filter{Category: q.Get("category"), Administration: q.Get("administration")}
	for _, d := range []struct {
		name string
		dst  *time.Time
		add  int
	}{{"from", &f.From, 0}, {"to", &f.To, 1}} {
		v := q.Get(d.name)
		if v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, v, time.Local)
		if err != nil {
			return f, false
		}
		*d.dst = t.AddDate(0, 0, d.add) // "to" includes its whole day
	}
	return f, true
}

func (h *Handler) accessShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	f, ok := accessFilter(r)
	if !ok {
		h.Error(w, r, http.StatusBadRequest, "error.bad_filter")
		return
	}
	all, err := h.deps.AccessLog.EntriesOf(r.Context(), v.Subject, audit.Filter{})
	if err != nil {
		h.deps.Logger.Error("access log", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	lang, c, now := web.Lang(r), h.deps.Catalogue, h.opts.Now()
	// What the citizen can do from an entry depends on their consents and
	// objections now; unreadable, the entries are shown without actions.
	grants := map[string]consent.Grant{}
	if gs, err := h.deps.Consents.List(r.Context(), v.Subject); err == nil {
		for _, g := range gs {
			grants[g.ID] = g
		}
	} else {
		h.deps.Logger.Warn("access log: consents unread", "err", err)
	}
	objections, err := h.deps.Rights.Objections(r.Context(), v.Subject)
	if err != nil {
		h.deps.Logger.Warn("access log: objections unread", "err", err)
		objections = map[string]time.Time{ObjectionProfiling: {}}
	}
	// The filters offer the categories and administrations the citizen's
	// own log holds (registered categories included).
	admins, categories := map[string]bool{}, map[string]bool{}
	var matched []audit.StoredEntry
	for _, e := range all {
		for _, a := range []string{e.Requester, e.Source} {
			if a != "" {
				admins[a] = true
			}
		}
		if e.Category != "" {
			categories[e.Category] = true
		}
		if f.Match(e.Entry) {
			matched = append(matched, e)
		}
	}
	// Pages of accessPage entries, newest first.
	pages := max(1, (len(matched)+accessPage-1)/accessPage)
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	page = min(page, pages)
	shown := matched[(page-1)*accessPage : min(page*accessPage, len(matched))]
	var out []entryView
	withdrawIn := map[string]string{} // consent → the entry holding its form
	for _, e := range shown {
		at := e.Time.In(madrid)
		ev := entryView{ID: e.ID, KindKey: "kind." + e.Kind, When: dateIn(lang, at) + " " + at.Format("15:04"),
			ISOTime: e.Time.Format(time.RFC3339), Category: e.Category, CategoryKey: "category." + e.Category,
			Connector: e.Connector, ErrorClass: e.Error, Index: e.Index}
		if e.DecisionID != "" {
			ev.Decision = e.DecisionID
			if e.PolicyVersion != "" {
				ev.Decision += " (" + c.T(lang, "access.policy_version", short(e.PolicyVersion)) + ")"
			}
		}
		var fields []string
		for _, f := range e.Fields {
			fields = append(fields, h.named(lang, "field.", f))
		}
		ev.Fields = strings.Join(fields, ", ")
		ev.Who = h.named(lang, "org.", e.Requester)
		if e.Source != "" {
			ev.Who += " → " + h.named(lang, "org.", e.Source)
		}
		if e.Purpose != "" {
			ev.PurposeKey = "purpose." + e.Purpose
		}
		switch g, known := grants[e.ConsentID]; {
		case e.LegalBasis == consent.BasisConsent && known:
			ev.Basis = c.T(lang, "access.consent_given", dateIn(lang, g.GrantedAt.In(madrid)))
			if g.ActiveAt(now) {
				if first, ok := withdrawIn[e.ConsentID]; ok {
					ev.WithdrawAt = first
				} else {
					ev.ConsentID, ev.Withdraw, withdrawIn[e.ConsentID] = e.ConsentID, true, e.ID
				}
			}
		case e.LegalBasis == consent.BasisConsent:
			ev.Basis, ev.ConsentID = c.T(lang, "access.consent_basis"), e.ConsentID
		default:
			ev.Basis = e.LegalBasis
			if p, ok := h.purposeOnBasis(e.LegalBasis); ok {
				ev.Basis = c.T(lang, "access.basis_"+p.Kind(), p.Law[lang])
				if _, objected := objections[consent.ObjectionTo(p.ID)]; p.Kind() == catalogue.BasisNoOpo && !objected {
					ev.ObjectTo = p.ID
				}
			}
		}
		ev.Officer, ev.CaseFile, ev.Period = e.Officer, e.CaseFile, e.Period
		if i := slices.IndexFunc(h.opts.Purposes, func(p catalogue.Purpose) bool { return p.AutomatedAction == e.Officer }); e.Officer != "" && i >= 0 {
			ev.Officer = c.T(lang, "access.automated_action", h.opts.Purposes[i].Procedure)
		}
		if e.OnBehalfOf != "" {
			ev.OnBehalfOf = e.OnBehalfOf
			if v.Acting.Kind == ActingCompany && v.Acting.NIF == e.OnBehalfOf {
				ev.OnBehalfOf = v.Acting.Company + " (" + e.OnBehalfOf + ")"
			}
		}
		switch {
		case e.Representative == "":
		case e.Representative == v.Self.Subject:
			ev.ActedBy = c.T(lang, "access.by_you")
		default:
			ev.ActedBy = c.T(lang, "access.by_other")
		}
		if _, objected := objections[ObjectionProfiling]; e.Purpose == "proactive-alerts" && !objected {
			ev.Object = true
		}
		if e.Outcome != "" {
			ev.OutcomeKey = "outcome." + e.Outcome
		}
		// The reason in the citizen's words; the code stays among the
		// technical details.
		if e.Error != "" && c.Has("reason."+e.Error) {
			ev.Because = c.T(lang, "reason."+e.Error)
		}
		if !c.Has(ev.KindKey) {
			ev.KindKey = "kind.exchange.intent"
		}
		out = append(out, ev)
	}
	var cats, adms []option
	for _, cat := range slices.Sorted(maps.Keys(categories)) {
		cats = append(cats, option{cat, h.named(lang, "category.", cat), cat == f.Category})
	}
	for _, a := range slices.Sorted(maps.Keys(admins)) {
		adms = append(adms, option{a, h.named(lang, "org.", a), a == f.Administration})
	}
	day := func(t time.Time, back int) string {
		if t.IsZero() {
			return ""
		}
		return t.AddDate(0, 0, -back).Format(time.DateOnly)
	}
	link := func(p int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p))
		return "/folder/access?" + q.Encode()
	}
	var prev, next string
	if page > 1 {
		prev = link(page - 1)
	}
	if page < pages {
		next = link(page + 1)
	}
	h.render(w, r, http.StatusOK, "access", "access.title", map[string]any{"Entries": out, "Categories": cats,
		"Administrations": adms, "From": day(f.From, 0), "To": day(f.To, 1), "Total": len(matched),
		"Page": page, "Pages": pages, "Prev": prev, "Next": next, "Filtered": f != (audit.Filter{})})
}

// accessPage is how many entries one page of the access log shows.
const accessPage = 50

func (h *Handler) accessProof(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	b, err := h.deps.AccessLog.Bundle(r.Context(), v.Subject, r.PathValue("id"))
	if errors.Is(err, audit.ErrNotFound) {
		h.Error(w, r, http.StatusNotFound, "error.entry_not_found")
		return
	}
	if err != nil {
		h.deps.Logger.Error("proof bundle", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="obert-entry-%d.json"`, b.Index))
	json.NewEncoder(w).Encode(b)
}

// named returns the name of an identifier (a field, an administration) in
// lang, or the identifier itself when the catalogue does not know it.
func (h *Handler) named(lang, prefix, id string) string {
	if h.deps.Catalogue.Has(prefix + id) {
		return h.deps.Catalogue.T(lang, prefix+id)
	}
	return id
}
