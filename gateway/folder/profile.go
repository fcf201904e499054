package folder

import (
	"context"
	"errors"
	"net/http"
	"slices"

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
	grants, err := h.deps.Consents.List(ctx, v.Self.Subject)
	if err != nil {
		h.unavailable(w, r, "consents", err)
		return
	}
	consented := slices.ContainsFunc(grants, func(g consent.Grant) bool {
		return g.Category == representation && g.Purpose == actingPurpose && g.ActiveAt(h.opts.Now())
	})
	var companies []companyView
	checked := false
	if consented {
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
	}
	data := map[string]any{"Consented": consented, "Checked": checked, "Companies": companies,
		"Employer": employerName(h, lang, v.Employer), "CheckedNote": h.checkedNote(lang, r.URL.Query())}
	if o, ok := h.offerOf(representation, actingPurpose); ok {
		data["Offer"] = askView{Category: representation, CategoryName: h.named(lang, "category.", representation),
			Version: o.TextVersion, Text: o.Texts[lang]}
	}
	h.render(w, r, http.StatusOK, "profile_switch", "profile.switch_title", data)
}

func employerName(h *Handler, lang, id string) string {
	if id == "" {
		return ""
	}
	return h.administrationName(lang, id)
}

// profileCheck gives the consent to consult the register of
// representations (its text was on the page) if not given, asks the
// register and returns to the profiles.
func (h *Handler) profileCheck(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	o, known := h.offerOf(representation, actingPurpose)
	if !known || r.PostFormValue("version") != o.TextVersion {
		h.Error(w, r, http.StatusBadRequest, "error.invalid_consent")
		return
	}
	ctx := r.Context()
	grants, err := h.deps.Consents.List(ctx, v.Self.Subject)
	if err != nil {
		h.unavailable(w, r, "consents", err)
		return
	}
	if !slices.ContainsFunc(grants, func(g consent.Grant) bool {
		return g.Category == representation && g.Purpose == actingPurpose && g.ActiveAt(h.opts.Now())
	}) {
		if _, err := h.deps.Consents.Grant(ctx, v.Self.Subject, representation, actingPurpose, o.TextVersion, web.Lang(r)); err != nil {
			h.unavailable(w, r, "grant consent", err)
			return
		}
	}
	res := h.deps.Profiles.Check(ctx, v)
	http.Redirect(w, r, "/folder/profile?checked="+representation+"&status="+string(res.Status), http.StatusSeeOther)
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
