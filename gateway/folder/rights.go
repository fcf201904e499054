package folder

import (
	"encoding/json"
	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/consent"
	"net/http"
	"sort"
	"time"

	"github.com/obert-gov/obert/gateway/web"
)

// rightsShow is the page of the citizen's rights: see and download
// everything, object to profiling, delete the account.
func (h *Handler) rightsShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	obj, err := h.deps.Rights.Objections(r.Context(), v.Subject)
	if err != nil {
		h.deps.Logger.Error("objections", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	_, objected := obj[ObjectionProfiling]
	h.render(w, r, http.StatusOK, "rights", "rights.title", map[string]any{"Objected": objected})
}

type heldView struct {
	PurposeKey  string // what it was fetched for
	CategoryKey string
	Source      string
	Fetched     string
	Values      [][2]string
}

// export returns everything held about the signed-in citizen, or answers
// the request itself.
func (h *Handler) export(w http.ResponseWriter, r *http.Request) (Export, bool) {
	v, ok := h.person(w, r)
	if !ok {
		return Export{}, false
	}
	x, err := h.deps.Rights.Export(r.Context(), v)
	if err != nil {
		h.deps.Logger.Error("export", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return Export{}, false
	}
	return x, true
}

// exportShow is everything Obert holds about the citizen, readable.
func (h *Handler) exportShow(w http.ResponseWriter, r *http.Request) {
	x, ok := h.export(w, r)
	if !ok {
		return
	}
	lang := web.Lang(r)
	var facts []heldView
	for _, f := range x.Facts {
		fv := heldView{CategoryKey: "category." + string(f.Category), PurposeKey: "purpose." + f.Purpose, Source: f.Source, Fetched: dateIn(lang, f.FetchedAt)}
		keys := make([]string, 0, len(f.Values))
		for k := range f.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fv.Values = append(fv.Values, [2]string{h.named(lang, "field.", k), h.factValue(lang, k, f.Values[k])})
		}
		facts = append(facts, fv)
	}
	var grants []grantView
	for _, g := range x.Consents {
		gv := grantView{ID: g.ID, CategoryKey: "category." + g.Category, PurposeKey: "purpose." + g.Purpose,
			GrantedText: h.deps.Catalogue.T(lang, "consent.granted_on", dateIn(lang, g.GrantedAt))}
		if !g.WithdrawnAt.IsZero() {
			gv.StateText = h.deps.Catalogue.T(lang, "consent.withdrawn", dateIn(lang, g.WithdrawnAt))
		}
		grants = append(grants, gv)
	}
	var sessions []string
	for _, s := range x.Sessions {
		at := s.CreatedAt.In(madrid)
		sessions = append(sessions, dateIn(lang, at)+" "+at.Format("15:04"))
	}
	_, objected := x.Objections[ObjectionProfiling]
	var favs []string
	for _, f := range x.Favourites {
		favs = append(favs, h.favouriteTitle(lang, f.Kind, f.Ref))
	}
	var events []string
	for _, e := range x.LifeEvents {
		if le, ok := h.lifeEvent(e.Event); ok {
			events = append(events, le.Title[lang])
		}
	}
	h.render(w, r, http.StatusOK, "export", "export.title", map[string]any{"X": x, "Facts": facts, "Grants": grants,
		"Sessions": sessions, "Entries": len(x.Access), "Objected": objected, "Favourites": favs, "LifeEvents": events,
		"Provider": h.named(lang, "org.", x.Identity.Provider)})
}

// exportJSON downloads the same, machine-readable (GDPR Art. 20).
func (h *Handler) exportJSON(w http.ResponseWriter, r *http.Request) {
	x, ok := h.export(w, r)
	if !ok {
		return
	}
	lang := web.Lang(r)
	b, err := json.MarshalIndent(exportDocOf(x, lang, h.deps.Catalogue.T(lang, "export.note")), "", "  ")
	if err != nil {
		h.Error(w, r, http.StatusInternalServerError, "error.unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="obert-my-data-`+time.Now().UTC().Format("2006-01-02")+`.json"`)
	w.Write(b)
}

// objection sets or lifts the objection to proactive profiling.
func (h *Handler) objection(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	on := r.PostFormValue("object") == "1"
	if r.PostFormValue("object") != "1" && r.PostFormValue("object") != "0" {
		h.Error(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	// An objection to proactive profiling is a person's; one to a purpose
	// that runs on a law unless the citizen objects is the profile's
	// holder's (a company's, acting for one).
	kind, back := ObjectionProfiling, "/folder/rights"
	if id := r.PostFormValue("purpose"); id != "" {
		p, known := h.purpose(id)
		if !known || p.Kind() != catalogue.BasisNoOpo || len(h.holdersCategories(r.Context(), v, id)) == 0 {
			h.Error(w, r, http.StatusBadRequest, "error.bad_request")
			return
		}
		kind, back = consent.ObjectionTo(id), "/folder/consent"
	} else if v.Acting.Kind == ActingCompany {
		h.render(w, r, http.StatusForbidden, "error", "error.title", map[string]string{"MessageKey": "profile.person_only",
			"Action": "/folder/profile"})
		return
	}
	if err := h.deps.Rights.Object(WithActor(r.Context(), v), v, kind, on); err != nil {
		h.deps.Logger.Error("objection", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	done := "objected"
	if !on {
		done = "unobjected"
	}
	http.Redirect(w, r, returnTo(r, back)+"?done="+done, http.StatusSeeOther)
}

// erase deletes the citizen's account and data, after an explicit
// confirmation on the form.
func (h *Handler) erase(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		h.Error(w, r, http.StatusBadRequest, "error.erase_unconfirmed")
		return
	}
	if err := h.deps.Rights.Erase(r.Context(), v); err != nil {
		h.deps.Logger.Error("erase", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	http.Redirect(w, r, "/?done=erased", http.StatusSeeOther)
}
