package gateway_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestQuestionnaire: without signing in, six answers place the visitor in a
// profile and show its standard package; bad answers get the form back with
// the problems marked and nothing counted; the number of people in a
// profile is shown only from ten on; nothing identifying is stored.
func TestQuestionnaire(t *testing.T) {
	ctx := context.Background()
	d := startDev(t)
	answer := func(u *user, v url.Values) int {
		u.get(d.URL + "/questionnaire")
		v.Set("csrf", u.hidden("csrf"))
		return u.post(d.URL+"/questionnaire", v)
	}
	older := url.Values{"age": {"79"}, "household": {"1"}, "minors": {"0"}, "dependent": {"no"}, "work": {"retired"}, "income": {"650"}}
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.get(d.URL + "/")
	u.mustSee("Answer six questions without signing in")
	if s := answer(u, older); s != http.StatusOK {
		t.Fatalf("answers: %d %s", s, u.page)
	}
	u.mustSee("An older person living alone", "Home tele-assistance", "Non-contributory retirement pension", "Fewer than 10 people")
	if strings.Contains(u.page, "Youth rent bonus") {
		t.Error("a young people's aid in the older person's package")
	}

	for name, bad := range map[string]url.Values{
		"age out of range": {"age": {"7"}, "household": {"1"}, "minors": {"0"}, "work": {"retired"}, "income": {"650"}},
		"more minors":      {"age": {"40"}, "household": {"2"}, "minors": {"2"}, "work": {"working"}, "income": {"650"}},
		"not a number":     {"age": {"forty"}, "household": {"2"}, "minors": {"0"}, "work": {"working"}, "income": {"650"}},
		"unknown work":     {"age": {"40"}, "household": {"2"}, "minors": {"0"}, "work": {"astronaut"}, "income": {"650"}},
		"negative income":  {"age": {"40"}, "household": {"2"}, "minors": {"0"}, "work": {"working"}, "income": {"-1"}},
		"a municipality of another county": {"age": {"40"}, "household": {"2"}, "minors": {"0"}, "work": {"working"}, "income": {"650"},
			"county": {"13"}, "municipality": {"08187"}},
		"an unknown county": {"age": {"40"}, "household": {"2"}, "minors": {"0"}, "work": {"working"}, "income": {"650"}, "county": {"99"}},
	} {
		if s := answer(u, bad); s != http.StatusBadRequest || !strings.Contains(u.page, `aria-invalid="true"`) {
			t.Errorf("%s: %d", name, s)
		}
	}
	var total int64
	d.Store.DB().QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM questionnaire_stats`).Scan(&total)
	if total != 1 {
		t.Fatalf("%d placements counted, want 1 (bad answers count nothing)", total)
	}
	// From the tenth person in the profile on, the number is shown.
	for range 9 {
		answer(newUser(t), older)
	}
	answer(u, older)
	u.mustSee("11 people were in this situation")

	// County and city aids follow the place the visitor names, and are
	// left out when they name none.
	unemployed := func(county, municipality string) url.Values {
		return url.Values{"age": {"48"}, "household": {"3"}, "minors": {"1"}, "dependent": {"no"}, "work": {"unemployed-long"},
			"income": {"500"}, "county": {county}, "municipality": {municipality}}
	}
	answer(u, unemployed("", ""))
	u.mustSee("You did not say where you live")
	if strings.Contains(u.page, "Ajuntament de Reus") || strings.Contains(u.page, "Lleida") {
		t.Error("city aids of Reus or Lleida shown to a visitor who did not say where they live")
	}
	answer(u, unemployed("08", "43123"))
	u.mustSee("Reus")
	if strings.Contains(u.page, "Lleida") {
		t.Error("Lleida's aid shown to a Reus resident")
	}
	answer(u, unemployed("33", ""))
	if strings.Contains(u.page, "Reus") {
		t.Error("Reus's aid shown to a Segrià resident")
	}
	// Someone in work on a good income is placed nowhere, not in "long
	// time without work".
	answer(u, url.Values{"age": {"38"}, "household": {"1"}, "minors": {"0"}, "dependent": {"no"}, "work": {"working"}, "income": {"6000"}})
	u.mustSee("None of the five common situations is like yours")
	if strings.Contains(u.page, "Out of work for a long time") {
		t.Error("a well-paid worker was placed among the long-term unemployed")
	}

	// Only counts are kept: no answer, no address, no time of day.
	rows, _ := d.Store.DB().QueryContext(ctx, `SELECT * FROM questionnaire_stats`)
	cols, _ := rows.Columns()
	rows.Close()
	if strings.Join(cols, ",") != "archetype,day,count" {
		t.Fatalf("questionnaire_stats keeps %v", cols)
	}
}
