package gateway_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/obert-gov/obert/connectors/sim"
)

var aidCard = regexp.MustCompile(`<(?:article class="aid|li class="aid-item) ([a-z-]+)" id="aid-([a-z0-9_]+)"`)

// aidStatuses reads the status of every aid card on the aids page.
func aidStatuses(page string) map[string]string {
	out := map[string]string{}
	for _, m := range aidCard.FindAllStringSubmatch(page, -1) {
		out[m[2]] = m[1]
	}
	return out
}

// askForm returns the fields of the one-step check form for category on
// aid's card ("" for the summary's).
func askForm(t *testing.T, page, aid, category string) url.Values {
	t.Helper()
	scope := page
	if aid != "" {
		i := strings.Index(page, `id="aid-`+aid+`"`)
		if i < 0 {
			t.Fatalf("no card for %s", aid)
		}
		scope = cardOf(page, aid)
	}
	re := regexp.MustCompile(`(?s)<form method="post" action="/folder/aids/check" class="ask">(.*?)</form>`)
	for _, m := range re.FindAllStringSubmatch(scope, -1) {
		v := url.Values{}
		for _, h := range hiddenRe.FindAllStringSubmatch(m[1], -1) {
			v.Set(h[1], html.UnescapeString(h[2]))
		}
		if v.Get("category") == category {
			return v
		}
	}
	t.Fatalf("no check form for %s on %q", category, aid)
	return nil
}

// TestAidsPageSummaryAndOneStepCheck: the aids page opens on a summary
// that names the data that would decide the "maybe" aids (never data at
// hand); one button on a "maybe" card gives exactly that consent, fetches
// that data alone and returns to the aid, now decided.
func TestAidsPageSummaryAndOneStepCheck(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	u := consentAndFetch(t, d, c) // census only
	u.get(d.URL + "/folder/aids")
	st := aidStatuses(u.page)
	if st["pobresa_energetica"] != "maybe" {
		t.Fatalf("pobresa_energetica is %q with census only", st["pobresa_energetica"])
	}
	u.mustSee("aids are yours and", "What would decide the ones that may be yours:")
	if !strings.Contains(u.page, "Share my “Tax data” data and check") || strings.Contains(u.page, "Share my “Census” data") {
		t.Fatal("the summary does not ask for tax data alone of what is missing, or asks for census data at hand")
	}
	sent := len(d.Dev.Sim.Received())

	f := askForm(t, u.page, "pobresa_energetica", "tax")
	bad := url.Values{"csrf": f["csrf"], "category": {"tax"}, "version": {"tax-v0"}, "aid": f["aid"]}
	if s := u.post(d.URL+"/folder/aids/check", bad); s != http.StatusBadRequest {
		t.Fatalf("a stale consent text: %d", s)
	}
	if s := u.post(d.URL+"/folder/aids/check", f); s != http.StatusOK {
		t.Fatalf("check: %d", s)
	}
	if !strings.Contains(u.url, "checked=tax&status=ok") {
		t.Errorf("the check returned to %s", u.url)
	}
	u.mustSee("We received your “Tax data” data.")
	if got := aidStatuses(u.page)["pobresa_energetica"]; got == "maybe" {
		t.Fatal("the aid is still a maybe after its data came")
	}
	got := d.Dev.Sim.Received()[sent:]
	if len(got) != 1 || got[0].Atributos.CodigoCertificado != "AEAT103I" {
		t.Fatalf("the check sent %d requests, want one to the tax agency", len(got))
	}
	u.get(d.URL + "/folder/consent")
	u.mustSee("Tax data")
	// A second press does not grant twice.
	u.get(d.URL + "/folder/aids")
	if strings.Contains(u.page, "Share my “Tax data” data") {
		t.Fatal("the page still asks for tax data")
	}
}

// TestAidsByCountyAndMunicipality: residents of two counties (Vallès
// Occidental, Gironès) and two municipalities (Sabadell, Girona) see their
// own county's and city's aids as theirs or decided, and never another
// county's or city's.
func TestAidsByCountyAndMunicipality(t *testing.T) {
	d := startDev(t)
	find := func(code string) sim.Citizen {
		for _, c := range d.Dev.Citizens {
			if c.MunicipalityCode == code {
				return c
			}
		}
		t.Fatalf("no synthetic citizen in %s", code)
		return sim.Citizen{}
	}
	ownCounty := map[string]string{"08187": "ajuda_domicili_comarcal", "17079": "urgencia_comarcal"}
	ownCity := map[string]string{"08187": "escombraries_sabadell", "17079": "lloguer_joves_girona"}
	others := []string{"transport_escolar", "suport_families", "orientacio_laboral", "energia_lleida", "ocupacio_reus", "lloguer_bcn"}
	for _, code := range []string{"08187", "17079"} {
		c := find(code)
		u := consentAndFetch(t, d, c)
		u.get(d.URL + "/folder/aids")
		st := aidStatuses(u.page)
		for _, id := range others {
			if st[id] != "not-eligible" {
				t.Errorf("%s resident: %s is %q", c.Municipality, id, st[id])
			}
		}
		other := ownCounty["17079"]
		if code == "17079" {
			other = ownCounty["08187"]
		}
		if st[other] != "not-eligible" {
			t.Errorf("%s resident: the other county's %s is %q", c.Municipality, other, st[other])
		}
		// Their own county's and city's aids find them living there (each
		// aid's own page shows its criteria, whatever its status).
		u.get(d.URL + "/folder/aids/" + ownCounty[code])
		if card := cardOf(u.page, ownCounty[code]); !strings.Contains(card, " county: <strong>Met</strong>") {
			t.Errorf("%s resident: their county's %s does not find them living there:\n%s", c.Municipality, ownCounty[code], card)
		}
		u.get(d.URL + "/folder/aids/" + ownCity[code])
		if card := cardOf(u.page, ownCity[code]); !strings.Contains(card, "You are registered in "+c.Municipality+": <strong>Met</strong>") {
			t.Errorf("%s resident: their city's %s does not find them registered there:\n%s", c.Municipality, ownCity[code], card)
		}
	}
}

// cardOf returns the HTML of aid's card.
func cardOf(page, aid string) string {
	i := strings.Index(page, `id="aid-`+aid+`"`)
	if i < 0 {
		return ""
	}
	// A card is an article; an aid in a list is an item, which holds no
	// list of its own.
	close := "</article>"
	if strings.HasSuffix(page[:i], `<li class="aid-item `+aidStatuses(page)[aid]+`" `) {
		close = "</li>"
	}
	s := page[i:]
	return s[:strings.Index(s, close)]
}

// TestWhatIfIsNeitherFetchedNorStored: a simulation shows the aids a
// change would turn and why, marked as a simulation; it sends nothing to a
// source and changes nothing stored.
func TestWhatIfIsNeitherFetchedNorStored(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "dependent-household")
	u := consentAndFetch(t, d, c)
	u.get(d.URL + "/folder/aids")
	before := aidStatuses(u.page)
	sent := len(d.Dev.Sim.Received())
	var sealedBefore [][]byte
	rows, err := d.Store.DB().QueryContext(context.Background(), `SELECT sealed FROM facts ORDER BY category`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b []byte
		rows.Scan(&b)
		sealedBefore = append(sealedBefore, b)
	}
	rows.Close()

	csrf := u.hidden("csrf")
	if s := u.post(d.URL+"/folder/aids/whatif", url.Values{"csrf": {csrf}, "income": {"-5"}}); s != http.StatusBadRequest {
		t.Fatalf("a negative income: %d", s)
	}
	u.get(d.URL + "/folder/aids")
	if s := u.post(d.URL+"/folder/aids/whatif", url.Values{"csrf": {u.hidden("csrf")}, "children": {"2"}, "lost_job": {"yes"}}); s != http.StatusOK {
		t.Fatalf("what-if: %d", s)
	}
	u.mustSee("A simulation, neither fetched nor kept", "2 more children at home", "out of work", "Aids that would change")
	if !strings.Contains(u.page, "Not eligible → ") && !strings.Contains(u.page, "Maybe → ") {
		t.Fatalf("no aid changes status:\n%s", u.page)
	}
	if len(d.Dev.Sim.Received()) != sent {
		t.Fatal("a simulation sent a request to a source")
	}
	var sealedAfter [][]byte
	rows, err = d.Store.DB().QueryContext(context.Background(), `SELECT sealed FROM facts ORDER BY category`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b []byte
		rows.Scan(&b)
		sealedAfter = append(sealedAfter, b)
	}
	rows.Close()
	if len(sealedAfter) != len(sealedBefore) || string(sealedAfter[0]) != string(sealedBefore[0]) {
		t.Fatal("a simulation changed the stored facts")
	}
	u.get(d.URL + "/folder/aids")
	if after := aidStatuses(u.page); len(after) != len(before) || after["teleassistance"] != before["teleassistance"] {
		t.Fatal("the aids page changed after a simulation")
	}
}
