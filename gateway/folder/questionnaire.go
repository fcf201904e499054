package folder

import (
	"context"
	"net/http"
	"strconv"

	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/web"
)

// Questionnaire places an anonymous visitor in a profile. Nothing that
// identifies anyone is kept: only a count per profile and day.
type Questionnaire interface {
	Place(ctx context.Context, a recommend.Answers) (recommend.Placement, []recommend.Aid, error)
	// Peers is how many people were placed in the profile in the last 30
	// days; the pages never show a number below MinPeers.
	Peers(ctx context.Context, archetype string) (int64, error)
}

// MinPeers is the smallest group the pages give a number for.
const MinPeers = 10

func (h *Handler) questionnaireShow(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "questionnaire", "questionnaire.title", map[string]any{"Work": recommend.WorkSituations,
		"Answers": map[string]string{}, "Bad": map[string]bool{}, "Places": h.opts.Places})
}

// where reads the place a visitor names: a county, or a municipality the
// questionnaire lists (which says its county); nothing is allowed, a place
// not in the list or a county that does not hold the municipality is not.
func (h *Handler) where(county, municipality string) (recommend.Area, bool) {
	var a recommend.Area
	if municipality != "" {
		c, ok := h.opts.Places.CountyOf(municipality)
		if !ok || (county != "" && county != c) {
			return a, false
		}
		return recommend.Area{County: c, Municipality: municipality}, true
	}
	if county != "" && county != "outside" && !h.opts.Places.HasCounty(county) {
		return a, false
	}
	if county == "outside" {
		county = ""
	}
	return recommend.Area{County: county}, true
}

type packageAid struct{ Title, Summary, Administration, LevelKey, ApplyURL string }

func (h *Handler) questionnaireAnswer(w http.ResponseWriter, r *http.Request) {
	if !h.form(w, r, nil) {
		return
	}
	num := func(k string) (int, bool) {
		n, err := strconv.Atoi(r.PostFormValue(k))
		return n, err == nil
	}
	var a recommend.Answers
	var okAge, okHouse, okMinors, okIncome bool
	a.Age, okAge = num("age")
	a.HouseholdSize, okHouse = num("household")
	a.Minors, okMinors = num("minors")
	a.MonthlyIncome, okIncome = num("income")
	a.Work = r.PostFormValue("work")
	a.Dependent = r.PostFormValue("dependent") == "yes"
	problems := a.Validate()
	if where, ok := h.where(r.PostFormValue("county"), r.PostFormValue("municipality")); ok {
		a.Where = where
	} else {
		problems = append(problems, recommend.Problem{Field: "place", Reason: "a county and a municipality in it"})
	}
	for _, f := range []struct {
		ok   bool
		name string
	}{{okAge, "age"}, {okHouse, "household"}, {okMinors, "minors"}, {okIncome, "income"}} {
		if !f.ok {
			problems = append(problems, recommend.Problem{Field: f.name, Reason: "a whole number"})
		}
	}
	if len(problems) > 0 {
		fields := map[string]bool{}
		for _, p := range problems {
			fields[p.Field] = true
		}
		answers := map[string]string{}
		for _, k := range []string{"age", "household", "minors", "income", "work", "dependent", "county", "municipality"} {
			answers[k] = r.PostFormValue(k)
		}
		h.render(w, r, http.StatusBadRequest, "questionnaire", "questionnaire.title", map[string]any{"Work": recommend.WorkSituations,
			"Bad": fields, "Answers": answers, "Places": h.opts.Places})
		return
	}
	p, aids, err := h.deps.Questionnaire.Place(r.Context(), a)
	if err != nil {
		h.deps.Logger.Error("questionnaire", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	lang := web.Lang(r)
	var out []packageAid
	for _, x := range aids {
		out = append(out, packageAid{Title: x.Title[lang], Summary: x.Summary[lang], Administration: x.Administration[lang],
			LevelKey: "aids.level." + x.Level, ApplyURL: x.ApplyURL})
	}
	peers, err := h.deps.Questionnaire.Peers(r.Context(), p.Archetype)
	if err != nil {
		peers = 0
	}
	h.render(w, r, http.StatusOK, "profile", "profile.title", map[string]any{"Archetype": p.Archetype, "Close": p.Close,
		"Aids": out, "Peers": peers, "ShowPeers": peers >= MinPeers, "MinPeers": MinPeers, "Placed": a.Where != recommend.Area{}})
}
