package folder

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/web"
)

// The aids page: a summary first (how many aids are the citizen's, how
// many may be and which data would decide them), then the aids grouped by
// status and by the administration that grants them. A "maybe" offers the
// one consent that would decide it; each aid says how to claim it; a
// simulation ("what if") is computed on the spot and never stored.

type aidView struct {
	ID, Title, Summary, Administration, Status, ApplyURL, Legal, Deadline, InPerson string
	Criteria                                                                        []criterionView
	Steps                                                                           []string
	Documents                                                                       []aidDocView
	Missing                                                                         []askView // "maybe": the consents that would decide it
	Undecided                                                                       bool      // "maybe" with all its data at hand
	Favourite                                                                       bool
}

type criterionView struct{ Text, Verdict string }

type aidDocView struct{ Text, Link string }

// askView is one consent the page asks for in one step: give it, fetch
// the data, come back to the aid.
type askView struct {
	Category, CategoryName, Version string
	Text                            consent.OfferText
	Decides                         int // how many "maybe" aids it would decide
}

// askArgs is what the "ask" template receives: the page (its language
// and CSRF token), the consent asked and the aid to return to.
type askArgs struct {
	Page page
	Ask  askView
	Aid  string
}

func askOf(p page, a askView, aid string) askArgs { return askArgs{p, a, aid} }

// cardArgs is what the "card" template receives.
type cardArgs struct {
	Page page
	Aid  aidView
}

func cardOf(p page, a aidView) cardArgs { return cardArgs{p, a} }

type levelGroup struct {
	LevelKey string
	Aids     []aidView
}

type statusGroup struct {
	Status, TitleKey string
	Count            int
	Levels           []levelGroup
}

var levelOrder = []string{"state", "generalitat", "county", "city"}

const aidPurpose = "aid-recommendation"

func (h *Handler) aidsShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	rs, err := h.deps.Recommender.Recommend(r.Context(), v)
	if err != nil {
		h.unavailable(w, r, "recommend", err)
		return
	}
	favs, err := h.deps.Personal.Favourites(r.Context(), v.Subject)
	if err != nil {
		h.unavailable(w, r, "favourites", err)
		return
	}
	lang := web.Lang(r)
	asks := map[string]*askView{}
	groups := map[string]*statusGroup{}
	for _, st := range []string{recommend.Eligible, recommend.Maybe, recommend.NotEligible} {
		groups[st] = &statusGroup{Status: st, TitleKey: "aids.group." + st}
	}
	for _, res := range rs {
		av := h.aidOf(lang, res)
		av.Favourite = isFavourite(favs, FavouriteAid, res.Aid.ID)
		for _, c := range res.Missing {
			ask, ok := asks[c]
			if !ok {
				a, known := h.askFor(lang, c)
				if !known {
					continue
				}
				ask = &a
				asks[c] = ask
			}
			ask.Decides++
			av.Missing = append(av.Missing, *ask)
		}
		g := groups[res.Status]
		g.Count++
		i := slices.IndexFunc(g.Levels, func(l levelGroup) bool { return l.LevelKey == "aids.level."+res.Aid.Level })
		if i < 0 {
			g.Levels = append(g.Levels, levelGroup{LevelKey: "aids.level." + res.Aid.Level})
			i = len(g.Levels) - 1
		}
		g.Levels[i].Aids = append(g.Levels[i].Aids, av)
	}
	var out []statusGroup
	for _, st := range []string{recommend.Eligible, recommend.Maybe, recommend.NotEligible} {
		g := groups[st]
		slices.SortStableFunc(g.Levels, func(a, b levelGroup) int {
			return slices.Index(levelOrder, strings.TrimPrefix(a.LevelKey, "aids.level.")) - slices.Index(levelOrder, strings.TrimPrefix(b.LevelKey, "aids.level."))
		})
		out = append(out, *g)
	}
	var decide []askView
	for _, c := range slices.Sorted(maps.Keys(asks)) {
		decide = append(decide, *asks[c])
	}
	c := h.deps.Catalogue
	data := map[string]any{"Groups": out, "Decide": decide, "StepUp": h.stepUpFor(v, r, "/folder/aids"),
		"Summary": c.T(lang, "aids.summary", groups[recommend.Eligible].Count, groups[recommend.Maybe].Count),
		"Checked": h.checkedNote(lang, r.URL.Query()), "Children": []int{0, 1, 2, 3}}
	h.render(w, r, http.StatusOK, "aids", "aids.title", data)
}

// askFor is the one-step consent for category's data, for
// recommendations, in lang (false when nothing offers it).
func (h *Handler) askFor(lang, category string) (askView, bool) {
	o, known := h.offerOf(category, aidPurpose)
	if !known {
		return askView{}, false
	}
	return askView{Category: category, CategoryName: h.named(lang, "category.", category), Version: o.TextVersion, Text: o.Texts[lang]}, true
}

func isFavourite(favs []Favourite, kind, ref string) bool {
	return slices.ContainsFunc(favs, func(f Favourite) bool { return f.Kind == kind && f.Ref == ref })
}

// aidShow is one aid's page: everything its card on the aids page folds
// away, for the aids that are not the citizen's now, and a link to share.
func (h *Handler) aidShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	rs, err := h.deps.Recommender.Recommend(r.Context(), v)
	if err != nil {
		h.unavailable(w, r, "recommend", err)
		return
	}
	i := slices.IndexFunc(rs, func(res recommend.Result) bool { return res.Aid.ID == r.PathValue("id") })
	if i < 0 {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	favs, err := h.deps.Personal.Favourites(r.Context(), v.Subject)
	if err != nil {
		h.unavailable(w, r, "favourites", err)
		return
	}
	lang := web.Lang(r)
	av := h.aidOf(lang, rs[i])
	av.Favourite = isFavourite(favs, FavouriteAid, av.ID)
	for _, c := range rs[i].Missing {
		if a, known := h.askFor(lang, c); known {
			av.Missing = append(av.Missing, a)
		}
	}
	h.render(w, r, http.StatusOK, "aid", "aids.title", map[string]any{"Aid": av, "Checked": h.checkedNote(lang, r.URL.Query()),
		"StepUp": h.stepUpFor(v, r, "/folder/aids/"+av.ID)})
}

// stepUpFor is the sign-in at a higher level a check refused for the
// session's level offers, back to ret ("" when it was not refused so).
func (h *Handler) stepUpFor(v Viewer, r *http.Request, ret string) string {
	if r.URL.Query().Get("reason") != "loa-too-low" {
		return ""
	}
	return StepUp(v, nextLevel(v.LoA), ret)
}

// checkedNote is what the page says after a one-step check: the data came
// and the aids are decided on it, or why it did not come and what to do.
func (h *Handler) checkedNote(lang string, q url.Values) string {
	return h.checkedNoteSaying(lang, q, "aids.checked")
}

// checkedNoteSaying is checkedNote with what a page says when the data
// came (okKey, given the category's name).
func (h *Handler) checkedNoteSaying(lang string, q url.Values, okKey string) string {
	cat, status, reason := q.Get("checked"), q.Get("status"), q.Get("reason")
	if cat == "" || !h.deps.Catalogue.Has("data.status."+status) {
		return ""
	}
	c := h.deps.Catalogue
	name := h.named(lang, "category.", cat)
	if status == string(exchange.StatusOK) {
		return c.T(lang, okKey, name)
	}
	todo := "data.what_to_do." + status
	if reason != "" && c.Has("data.what_to_do."+reason) {
		todo = "data.what_to_do." + reason
	}
	return c.T(lang, "data.status."+status) + " (" + name + "). " + c.T(lang, todo)
}

// aidOf is one aid's card in lang.
func (h *Handler) aidOf(lang string, res recommend.Result) aidView {
	a, c := res.Aid, h.deps.Catalogue
	av := aidView{ID: a.ID, Title: a.Title[lang], Summary: a.Summary[lang], Administration: a.Administration[lang],
		Status: res.Status, ApplyURL: a.ApplyURL, Legal: a.LegalReference, InPerson: a.InPerson[lang],
		Undecided: res.Status == recommend.Maybe && len(res.Missing) == 0}
	if d, err := time.Parse(time.DateOnly, a.Deadline); err == nil {
		av.Deadline = dateIn(lang, d)
	}
	for _, st := range a.Steps {
		av.Steps = append(av.Steps, st[lang])
	}
	for _, d := range a.Documents {
		if d.Obert != "" {
			av.Documents = append(av.Documents, aidDocView{Text: c.T(lang, "documents.type."+d.Obert), Link: "/folder/documents"})
		} else {
			av.Documents = append(av.Documents, aidDocView{Text: d.Text[lang]})
		}
	}
	for _, cr := range res.Criteria {
		verdict := c.T(lang, "aids.undecided")
		switch {
		case cr.Met != nil && *cr.Met:
			verdict = c.T(lang, "aids.met")
		case cr.Met != nil:
			verdict = c.T(lang, "aids.not_met")
		}
		av.Criteria = append(av.Criteria, criterionView{cr.Text[lang], verdict})
	}
	return av
}

// aidsCheck is the one step that turns a "maybe" into a decided aid: it
// gives the one consent the aid needs (the offer's text was on the card),
// fetches that data, and returns to the aid.
func (h *Handler) aidsCheck(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	cat, aid := r.PostFormValue("category"), r.PostFormValue("aid")
	o, known := h.offerOf(cat, aidPurpose)
	if !known || r.PostFormValue("version") != o.TextVersion {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_consent")
		return
	}
	if !h.grantOnce(w, r, v, o) {
		return
	}
	res := h.deps.Exchanger.Fetch(r.Context(), v, cat)
	// Back to the aid's own page, decided now, or to the summary.
	to := "/folder/aids"
	if recommendAid(aid) {
		to += "/" + aid
	}
	http.Redirect(w, r, to+"?checked="+url.QueryEscape(cat)+"&status="+url.QueryEscape(string(res.Status))+
		"&reason="+url.QueryEscape(res.Reason), http.StatusSeeOther)
}

// grantOnce gives the consent of offer o, whose text the citizen saw
// beside the button, unless it is already in force; false when it
// answered the request itself.
func (h *Handler) grantOnce(w http.ResponseWriter, r *http.Request, v Viewer, o consent.Offer) bool {
	grants, err := h.deps.Consents.List(r.Context(), v.Subject)
	if err != nil {
		h.unavailable(w, r, "list consents", err)
		return false
	}
	now := h.opts.Now()
	if slices.ContainsFunc(grants, func(g consent.Grant) bool {
		return g.Category == o.Category && g.Purpose == o.Purpose && g.ActiveAt(now)
	}) {
		return true
	}
	if _, err := h.deps.Consents.Grant(r.Context(), v.Subject, o.Category, o.Purpose, o.TextVersion, web.Lang(r)); err != nil {
		if errors.Is(err, consent.ErrInvalid) {
			h.Error(w, r, http.StatusBadRequest, "error.invalid_consent")
			return false
		}
		h.unavailable(w, r, "grant consent", err)
		return false
	}
	return true
}

// recommendAid reports whether id may name an aid in a fragment.
func recommendAid(id string) bool {
	return id != "" && len(id) <= 64 && strings.Trim(id, "abcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

type changeView struct {
	ID, Title, Administration, Before, After, BeforeKey, AfterKey string
	Why                                                           []criterionView
}

// aidsWhatIf simulates a change of situation on the citizen's facts and
// shows the aids it would change, and why. Nothing is fetched or stored;
// it is a POST so that the figures never travel in an address.
func (h *Handler) aidsWhatIf(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	var wi recommend.WhatIf
	bad := false
	if s := strings.TrimSpace(r.PostFormValue("income")); s != "" {
		n, err := strconv.Atoi(strings.NewReplacer(".", "", " ", "", "€", "").Replace(s))
		bad = err != nil
		wi.IncomeAnnual = &n
	}
	if s := r.PostFormValue("children"); s != "" {
		n, err := strconv.Atoi(s)
		bad = bad || err != nil
		wi.MoreChildren = n
	}
	wi.LoseJob = r.PostFormValue("lost_job") == "yes"
	if bad || !wi.Valid() {
		h.Error(w, r, http.StatusBadRequest, "aids.whatif.invalid")
		return
	}
	if wi.Empty() {
		http.Redirect(w, r, "/folder/aids#whatif", http.StatusSeeOther)
		return
	}
	chs, err := h.deps.Recommender.WhatIf(r.Context(), v, wi)
	if err != nil {
		h.unavailable(w, r, "what-if", err)
		return
	}
	lang, c := web.Lang(r), h.deps.Catalogue
	verdict := func(m *bool) string {
		switch {
		case m == nil:
			return c.T(lang, "aids.undecided")
		case *m:
			return c.T(lang, "aids.met")
		}
		return c.T(lang, "aids.not_met")
	}
	var out []changeView
	for _, ch := range chs {
		cv := changeView{ID: ch.Aid.ID, Title: ch.Aid.Title[lang], Administration: ch.Aid.Administration[lang],
			BeforeKey: "aids.status." + ch.Before, AfterKey: "aids.status." + ch.After, After: ch.After}
		for _, cr := range ch.Criteria {
			cv.Why = append(cv.Why, criterionView{Text: cr.Text[lang], Verdict: fmt.Sprintf("%s → %s", verdict(cr.Before), verdict(cr.After))})
		}
		out = append(out, cv)
	}
	var said []string
	if wi.IncomeAnnual != nil {
		said = append(said, c.T(lang, "aids.whatif.said_income", formatEuros(lang, *wi.IncomeAnnual)))
	}
	if wi.MoreChildren > 0 {
		said = append(said, c.T(lang, "aids.whatif.said_children", wi.MoreChildren))
	}
	if wi.LoseJob {
		said = append(said, c.T(lang, "aids.whatif.said_job"))
	}
	h.render(w, r, http.StatusOK, "whatif", "aids.whatif.title", map[string]any{"Changes": out, "Said": said})
}

// formatEuros writes a whole amount of euros as the locale does: 12.000 €
// in Catalan and Spanish, €12,000 in English.
func formatEuros(lang string, n int) string {
	s := strconv.Itoa(n)
	sep := "."
	if lang == "en" {
		sep = ","
	}
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(d)
	}
	if lang == "en" {
		return "€" + b.String()
	}
	return b.String() + " €"
}
