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

	// Only counts are kept: no answer, no address, no time of day.
	rows, _ := d.Store.DB().QueryContext(ctx, `SELECT * FROM questionnaire_stats`)
	cols, _ := rows.Columns()
	rows.Close()
	if strings.Join(cols, ",") != "archetype,day,count" {
		t.Fatalf("questionnaire_stats keeps %v", cols)
	}
}
