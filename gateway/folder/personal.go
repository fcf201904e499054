package folder

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/web"
)

// The folder made the citizen's own: its home opens on their life events
// and favourites, in the order they chose, with the sections they hid
// left out; each life event gathers the aids, data, documents and
// procedures that matter for it.

// Personal keeps what a citizen makes their own in the folder.
type Personal interface {
	Favourites(ctx context.Context, subject string) ([]Favourite, error)
	SetFavourite(ctx context.Context, subject string, f Favourite, on bool) error
	LifeEvents(ctx context.Context, subject string) ([]string, error)
	SetLifeEvent(ctx context.Context, subject, event string, on bool) error
	// Layout is the order of the folder's sections and the hidden ones;
	// the default for a citizen who never changed it.
	Layout(ctx context.Context, subject string) (Layout, error)
	SetLayout(ctx context.Context, subject string, l Layout) error
}

// Favourite kinds.
const (
	FavouriteAid       = "aid"
	FavouriteProcedure = "procedure"
	FavouriteDocument  = "document"
)

// Favourite is one aid, procedure or document the citizen marked.
type Favourite struct {
	Kind, Ref string
	Since     time.Time
}

// Layout orders the folder's sections and hides some.
type Layout struct {
	Sections, Hidden []string
}

// Sections of the folder's home, in their default order.
var Sections = []string{"life-events", "favourites", "steps"}

// Normal returns l with every known section once, in l's order, unknown
// ones dropped and missing ones appended: a layout stored before a section
// existed still shows it.
func (l Layout) Normal() Layout {
	var out Layout
	for _, s := range append(slices.Clone(l.Sections), Sections...) {
		if slices.Contains(Sections, s) && !slices.Contains(out.Sections, s) {
			out.Sections = append(out.Sections, s)
		}
	}
	for _, s := range l.Hidden {
		if slices.Contains(Sections, s) && !slices.Contains(out.Hidden, s) {
			out.Hidden = append(out.Hidden, s)
		}
	}
	return out
}

type sectionView struct {
	ID, TitleKey      string
	First, Last, Show bool
}

type favouriteView struct {
	Kind, Ref, Title, Link string
}

type lifeEventView struct {
	ID, Title, Text string
	Mine            bool
}

func (h *Handler) folderShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.viewer(w, r)
	if !ok {
		return
	}
	if v.Acting.Kind != ActingPerson {
		h.profileHome(w, r, v)
		return
	}
	ctx, lang := r.Context(), web.Lang(r)
	layout, err := h.deps.Personal.Layout(ctx, v.Subject)
	if err != nil {
		h.unavailable(w, r, "layout", err)
		return
	}
	layout = layout.Normal()
	favs, err := h.favouriteViews(ctx, lang, v)
	if err != nil {
		h.unavailable(w, r, "favourites", err)
		return
	}
	mine, err := h.deps.Personal.LifeEvents(ctx, v.Subject)
	if err != nil {
		h.unavailable(w, r, "life events", err)
		return
	}
	var events []lifeEventView
	for _, e := range h.opts.LifeEvents {
		if slices.Contains(mine, e.ID) {
			events = append(events, lifeEventView{ID: e.ID, Title: e.Title[lang], Text: e.Text[lang], Mine: true})
		}
	}
	var shown, hidden []sectionView
	for _, s := range layout.Sections {
		sv := sectionView{ID: s, TitleKey: "folder.section." + s}
		if slices.Contains(layout.Hidden, s) {
			hidden = append(hidden, sv)
			continue
		}
		shown = append(shown, sv)
	}
	for i := range shown {
		shown[i].First, shown[i].Last = i == 0, i == len(shown)-1
	}
	h.render(w, r, http.StatusOK, "folder", "folder.title", map[string]any{"Sections": shown, "Hidden": hidden,
		"Favourites": favs, "LifeEvents": events, "Arranging": r.URL.Query().Get("arranged") != ""})
}

// unavailable answers a page whose data could not be read.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.deps.Logger.Error(what, "err", err)
	h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
}

// favouriteViews names each favourite and links to it; one whose thing no
// longer exists (an aid retired) is named as such.
func (h *Handler) favouriteViews(ctx context.Context, lang string, v Viewer) ([]favouriteView, error) {
	fs, err := h.deps.Personal.Favourites(ctx, v.Subject)
	if err != nil {
		return nil, err
	}
	aids := map[string]recommend.Aid{}
	for _, a := range h.deps.Recommender.Aids() {
		aids[a.ID] = a
	}
	var out []favouriteView
	for _, f := range fs {
		fv := favouriteView{Kind: f.Kind, Ref: f.Ref}
		switch f.Kind {
		case FavouriteAid:
			if a, ok := aids[f.Ref]; ok {
				fv.Title, fv.Link = a.Title[lang], "/folder/aids#aid-"+a.ID
			} else {
				fv.Title = h.deps.Catalogue.T(lang, "favourites.gone")
			}
		case FavouriteProcedure:
			if p, ok := h.procedure(f.Ref); ok {
				fv.Title, fv.Link = p.Title[lang], p.URL
			}
		case FavouriteDocument:
			fv.Title, fv.Link = h.deps.Catalogue.T(lang, "documents.type."+f.Ref), "/folder/documents"
		}
		out = append(out, fv)
	}
	return out, nil
}

// favouriteTitle names a favourite in lang.
func (h *Handler) favouriteTitle(lang, kind, ref string) string {
	switch kind {
	case FavouriteAid:
		for _, a := range h.deps.Recommender.Aids() {
			if a.ID == ref {
				return a.Title[lang]
			}
		}
		return h.deps.Catalogue.T(lang, "favourites.gone")
	case FavouriteProcedure:
		if p, ok := h.procedure(ref); ok {
			return p.Title[lang]
		}
	case FavouriteDocument:
		return h.deps.Catalogue.T(lang, "documents.type."+ref)
	}
	return ref
}

func (h *Handler) procedure(id string) (catalogue.Procedure, bool) {
	for _, e := range h.opts.LifeEvents {
		for _, p := range e.Procedures {
			if p.ID == id {
				return p, true
			}
		}
	}
	return catalogue.Procedure{}, false
}

func (h *Handler) lifeEvent(id string) (catalogue.LifeEvent, bool) {
	i := slices.IndexFunc(h.opts.LifeEvents, func(e catalogue.LifeEvent) bool { return e.ID == id })
	if i < 0 {
		return catalogue.LifeEvent{}, false
	}
	return h.opts.LifeEvents[i], true
}

// favourite marks or unmarks an aid, a procedure or a document, and
// returns to the page it was pressed on.
func (h *Handler) favourite(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	f := Favourite{Kind: r.PostFormValue("kind"), Ref: r.PostFormValue("ref")}
	known := false
	switch f.Kind {
	case FavouriteAid:
		known = slices.ContainsFunc(h.deps.Recommender.Aids(), func(a recommend.Aid) bool { return a.ID == f.Ref })
	case FavouriteProcedure:
		_, known = h.procedure(f.Ref)
	case FavouriteDocument:
		known = documents.Type(f.Ref).Valid()
	}
	on := r.PostFormValue("on") == "1"
	if !known && on || (r.PostFormValue("on") != "1" && r.PostFormValue("on") != "0") {
		h.Error(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if err := h.deps.Personal.SetFavourite(r.Context(), v.Subject, f, on); err != nil {
		h.unavailable(w, r, "favourite", err)
		return
	}
	http.Redirect(w, r, web.LocalPath(r.PostFormValue("return"), "/folder"), http.StatusSeeOther)
}

// lifeEventsShow lists the life events, each with whether the citizen
// said it applies to them.
func (h *Handler) lifeEventsShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	mine, err := h.deps.Personal.LifeEvents(r.Context(), v.Subject)
	if err != nil {
		h.unavailable(w, r, "life events", err)
		return
	}
	lang := web.Lang(r)
	var out []lifeEventView
	for _, e := range h.opts.LifeEvents {
		out = append(out, lifeEventView{ID: e.ID, Title: e.Title[lang], Text: e.Text[lang], Mine: slices.Contains(mine, e.ID)})
	}
	h.render(w, r, http.StatusOK, "life", "life.title", map[string]any{"Events": out})
}

// lifeEventSet says or unsays that a life event applies to the citizen.
func (h *Handler) lifeEventSet(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	e, known := h.lifeEvent(r.PostFormValue("event"))
	on := r.PostFormValue("on")
	if !known || (on != "1" && on != "0") {
		h.Error(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	if err := h.deps.Personal.SetLifeEvent(r.Context(), v.Subject, e.ID, on == "1"); err != nil {
		h.unavailable(w, r, "life event", err)
		return
	}
	http.Redirect(w, r, web.LocalPath(r.PostFormValue("return"), "/folder/life"), http.StatusSeeOther)
}

type lifeAidView struct {
	ID, Title, Administration, StatusKey, Status string
	Favourite                                    bool
}

type lifeDataView struct {
	Category, Name string
	Given          bool
}

type lifeItemView struct {
	Ref, Title, Link string
	Favourite        bool
}

// lifeEventShow gathers what matters for one life event: its aids with
// their status for the citizen, the data that decide them (consented or
// not), the documents that accredit it and the procedures to do.
func (h *Handler) lifeEventShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	e, known := h.lifeEvent(r.PathValue("id"))
	if !known {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	ctx, lang := r.Context(), web.Lang(r)
	rs, err := h.deps.Recommender.Recommend(ctx, v)
	if err != nil {
		h.unavailable(w, r, "recommend", err)
		return
	}
	favs, err := h.deps.Personal.Favourites(ctx, v.Subject)
	if err != nil {
		h.unavailable(w, r, "favourites", err)
		return
	}
	mine, err := h.deps.Personal.LifeEvents(ctx, v.Subject)
	if err != nil {
		h.unavailable(w, r, "life events", err)
		return
	}
	grants, err := h.deps.Consents.List(ctx, v.Subject)
	if err != nil {
		h.unavailable(w, r, "consents", err)
		return
	}
	isFav := func(kind, ref string) bool {
		return slices.ContainsFunc(favs, func(f Favourite) bool { return f.Kind == kind && f.Ref == ref })
	}
	var aids []lifeAidView
	for _, res := range rs {
		if slices.Contains(res.Aid.LifeEvents, e.ID) {
			aids = append(aids, lifeAidView{ID: res.Aid.ID, Title: res.Aid.Title[lang], Administration: res.Aid.Administration[lang],
				Status: res.Status, StatusKey: "aids.status." + res.Status, Favourite: isFav(FavouriteAid, res.Aid.ID)})
		}
	}
	now := h.opts.Now()
	var data []lifeDataView
	for _, c := range e.Categories {
		data = append(data, lifeDataView{Category: c, Name: h.named(lang, "category.", c),
			Given: slices.ContainsFunc(grants, func(g consent.Grant) bool {
				return g.Category == c && g.Purpose == aidPurpose && g.ActiveAt(now)
			})})
	}
	var docs, procs []lifeItemView
	for _, d := range e.Documents {
		docs = append(docs, lifeItemView{Ref: d, Title: h.deps.Catalogue.T(lang, "documents.type."+d), Link: "/folder/documents",
			Favourite: isFav(FavouriteDocument, d)})
	}
	for _, p := range e.Procedures {
		procs = append(procs, lifeItemView{Ref: p.ID, Title: p.Title[lang], Link: p.URL, Favourite: isFav(FavouriteProcedure, p.ID)})
	}
	h.render(w, r, http.StatusOK, "lifeevent", "life.title", map[string]any{"ID": e.ID, "Title": e.Title[lang], "Text": e.Text[lang],
		"Mine": slices.Contains(mine, e.ID), "Aids": aids, "Data": data, "Documents": docs, "Procedures": procs,
		"Return": "/folder/life/" + e.ID})
}

// layoutChange moves a section of the folder's home up or down, or hides
// or shows it.
func (h *Handler) layoutChange(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	section, action := r.PostFormValue("section"), r.PostFormValue("action")
	if !slices.Contains(Sections, section) || !slices.Contains([]string{"up", "down", "hide", "show"}, action) {
		h.Error(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	l, err := h.deps.Personal.Layout(r.Context(), v.Subject)
	if err != nil {
		h.unavailable(w, r, "layout", err)
		return
	}
	l = l.Normal()
	i := slices.Index(l.Sections, section)
	switch action {
	case "up":
		if i > 0 {
			l.Sections[i-1], l.Sections[i] = l.Sections[i], l.Sections[i-1]
		}
	case "down":
		if i < len(l.Sections)-1 {
			l.Sections[i+1], l.Sections[i] = l.Sections[i], l.Sections[i+1]
		}
	case "hide":
		if !slices.Contains(l.Hidden, section) {
			l.Hidden = append(l.Hidden, section)
		}
	case "show":
		l.Hidden = slices.DeleteFunc(l.Hidden, func(s string) bool { return s == section })
	}
	if err := h.deps.Personal.SetLayout(r.Context(), v.Subject, l); err != nil {
		h.unavailable(w, r, "layout", err)
		return
	}
	http.Redirect(w, r, "/folder?arranged=1#arrange", http.StatusSeeOther)
}

// starArgs is what the "star" template receives: a favourite's toggle,
// which returns to the page it is on.
type starArgs struct {
	Page                     page
	Kind, Ref, Title, Return string
	On                       bool
}

func star(p page, kind, ref string, on bool, title string) starArgs {
	ret := p.Path
	if kind == FavouriteAid && p.Path == "/folder/aids" {
		ret += "#aid-" + ref
	}
	return starArgs{Page: p, Kind: kind, Ref: ref, Title: title, Return: ret, On: on}
}

// arrangeArgs is what the "move" template receives: one change to the
// folder's layout.
type arrangeArgs struct {
	Page            page
	Section, Action string
}

func arrange(p page, section, action string) arrangeArgs { return arrangeArgs{p, section, action} }
