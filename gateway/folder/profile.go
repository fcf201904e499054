package folder

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/web"
)

// Profiles: a person acts as themself, for a company they are registered
// to represent (the register of representations, consulted as a
// connector with their consent), or as a public employee when their
// sign-in says so. Acting for a company, the folder is the company's: its
// consents, its data, its log, each exchange saying who acted for it.

// Profiles finds the companies a person may act for and switches the
// session's profile.
type Profiles interface {
	// Companies are those the register said the person may act for, from
	// the answer held (exchange.ErrNoFacts when none is).
	Companies(ctx context.Context, v Viewer) ([]Company, error)
	// Check asks the register now.
	Check(ctx context.Context, v Viewer) exchange.Result
	// Act switches the session to a, after checking the person may; each
	// switch is written to the person's log.
	Act(ctx context.Context, r *http.Request, v Viewer, a Acting) error
}

// Company is one company a person may act for.
type Company struct {
	NIF, Name, Powers string
}

// ErrNotRepresented is a switch to a company the register does not say
// the person represents (now), or to a profile the person does not have.
var ErrNotRepresented = errors.New("folder: not a profile of this person")

const (
	actingPurpose  = "acting-for"
	companyPurpose = "company-folder"
	representation = "representation"
)

type companyView struct {
	Company
	Current bool
}

func (h *Handler) profileShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	ctx, lang := r.Context(), web.Lang(r)
	var companies []companyView
	checked := false
	cs, err := h.deps.Profiles.Companies(ctx, v)
	switch {
	case errors.Is(err, exchange.ErrNoFacts):
	case err != nil:
		h.unavailable(w, r, "companies", err)
		return
	default:
		checked = true
		for _, c := range cs {
			companies = append(companies, companyView{Company: c, Current: v.Acting.Kind == ActingCompany && v.Acting.NIF == c.NIF})
		}
	}
	data := map[string]any{"Checked": checked, "Companies": companies,
		"Employer": employerName(h, lang, v.Employer), "CheckedNote": h.checkedNoteSaying(lang, r.URL.Query(), "profile.checked")}
	if p, ok := h.purpose(actingPurpose); ok {
		data["Law"] = p.Law[lang]
	}
	h.render(w, r, http.StatusOK, "profile_switch", "profile.switch_title", data)
}

func employerName(h *Handler, lang, id string) string {
	if id == "" {
		return ""
	}
	return h.administrationName(lang, id)
}

// profileCheck asks the register of representations now. It runs on a
// law (the administration checks a representation), so nobody is asked to
// consent; the page cites the law and each check is in the person's log.
func (h *Handler) profileCheck(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	res := h.deps.Profiles.Check(r.Context(), v)
	http.Redirect(w, r, "/folder/profile?checked="+representation+"&status="+string(res.Status)+"&reason="+url.QueryEscape(res.Reason),
		http.StatusSeeOther)
}

// purpose is the catalogue's purpose id.
func (h *Handler) purpose(id string) (catalogue.Purpose, bool) {
	i := slices.IndexFunc(h.opts.Purposes, func(p catalogue.Purpose) bool { return p.ID == id })
	if i < 0 {
		return catalogue.Purpose{}, false
	}
	return h.opts.Purposes[i], true
}

// holderOf is whose data the profile's pages show: a company's acting for
// one, a person's otherwise.
func holderOf(v Viewer) string {
	if v.Acting.Kind == ActingCompany {
		return consent.HolderCompany
	}
	return ""
}

// lawView is a purpose that runs on a law, as the consent page tells it.
type lawView struct {
	ID, Title, Law, Categories string
	NoOpo                      bool
	ObjectedSince              string // "" while not objected
}

// onLaw lists the purposes that run on a law for the data of the profile's
// holder, with the citizen's objections to those they may object to.
func (h *Handler) onLaw(ctx context.Context, lang string, v Viewer, objections map[string]time.Time) []lawView {
	var out []lawView
	for _, p := range h.opts.Purposes {
		if p.Kind() != catalogue.BasisLaw && p.Kind() != catalogue.BasisNoOpo {
			continue
		}
		var cats []string
		for _, c := range h.holdersCategories(ctx, v, p.ID) {
			cats = append(cats, h.named(lang, "category.", c))
		}
		if len(cats) == 0 {
			continue
		}
		lv := lawView{ID: p.ID, Title: h.deps.Catalogue.T(lang, "purpose."+p.ID), Law: p.Law[lang],
			Categories: strings.Join(cats, ", "), NoOpo: p.Kind() == catalogue.BasisNoOpo}
		if at, ok := objections[consent.ObjectionTo(p.ID)]; ok {
			lv.ObjectedSince = dateIn(lang, at.In(madrid))
		}
		out = append(out, lv)
	}
	return out
}

// holdersCategories are the categories of the profile's holder's data
// (a person's, or a company's acting for one) that purpose serves.
func (h *Handler) holdersCategories(ctx context.Context, v Viewer, purpose string) []string {
	var out []string
	holds := false // the purpose serves the holder's data
	for _, c := range h.opts.Categories {
		if _, serves := c.Purposes[purpose]; serves && c.Holder == holderOf(v) {
			out, holds = append(out, c.ID), true
		}
	}
	// Categories administrations registered for the purpose hold the same
	// holder's data as the catalogue's it serves.
	if holds && h.opts.Serves != nil {
		for _, c := range h.opts.Serves(ctx, purpose) {
			if !slices.Contains(out, c) && !slices.ContainsFunc(h.opts.Categories, func(k catalogue.Category) bool { return k.ID == c }) {
				out = append(out, c)
			}
		}
	}
	return out
}

// profileSwitch changes the session's profile.
func (h *Handler) profileSwitch(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	var a Acting
	switch r.PostFormValue("to") {
	case "person":
	case ActingEmployee:
		a.Kind = ActingEmployee
	case ActingCompany:
		a.Kind, a.NIF = ActingCompany, r.PostFormValue("nif")
	default:
		h.Error(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	err := h.deps.Profiles.Act(r.Context(), r, v, a)
	switch {
	case errors.Is(err, ErrNotRepresented):
		h.Error(w, r, http.StatusForbidden, "profile.not_yours")
	case err != nil:
		h.unavailable(w, r, "switch profile", err)
	default:
		http.Redirect(w, r, "/folder", http.StatusSeeOther)
	}
}

// profileHome is the folder's home in a company's or a public employee's
// profile.
func (h *Handler) profileHome(w http.ResponseWriter, r *http.Request, v Viewer) {
	lang := web.Lang(r)
	data := map[string]any{"Acting": v.Acting}
	if v.Acting.Kind == ActingEmployee {
		name := employerName(h, lang, v.Employer)
		var aids []string
		for _, a := range h.deps.Recommender.Aids() {
			if i := slices.IndexFunc(h.opts.Administrations, func(x catalogue.Administration) bool { return x.ID == v.Employer }); i >= 0 &&
				a.Administration["ca"] == h.opts.Administrations[i].Name["ca"] {
				aids = append(aids, a.Title[lang])
			}
		}
		data["Employer"], data["Aids"] = name, aids
	}
	h.render(w, r, http.StatusOK, "profile_home", "folder.title", data)
}

type actorKey struct{}

// Actor is who acts on a company's behalf in a request: the company's NIF
// and the representative's pseudonym. The services that record what a
// request did (consents given and withdrawn) read it from the context.
type Actor struct{ OnBehalfOf, Representative string }

// WithActor is ctx carrying v's actor, if v acts for a company.
func WithActor(ctx context.Context, v Viewer) context.Context {
	if v.Acting.Kind != ActingCompany {
		return ctx
	}
	return context.WithValue(ctx, actorKey{}, Actor{OnBehalfOf: v.Acting.NIF, Representative: v.Self.Subject})
}

// ActorOf is the actor ctx carries (zero: the person themself).
func ActorOf(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// offersFor keeps the offers of the profile's holder: a person's for a
// person or a public employee, a company's for one acting for it.
func offersFor(v Viewer, offers []consent.Offer) []consent.Offer {
	want := ""
	if v.Acting.Kind == ActingCompany {
		want = consent.HolderCompany
	}
	return slices.DeleteFunc(slices.Clone(offers), func(o consent.Offer) bool { return o.Holder != want })
}
