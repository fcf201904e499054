package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// heldFacts is the export's facts: what Obert keeps, by purpose.
func heldFacts(t *testing.T, u *user, base string) map[string]map[string]any {
	t.Helper()
	u.get(base + "/folder/export.json")
	var doc struct {
		Facts []struct {
			Category, Purpose string
			Values            map[string]any
		} `json:"facts"`
	}
	if err := json.Unmarshal([]byte(u.page), &doc); err != nil {
		t.Fatalf("export: %v", err)
	}
	out := map[string]map[string]any{}
	for _, f := range doc.Facts {
		out[f.Category+"/"+f.Purpose] = f.Values
	}
	return out
}

// TestMinimisedAnswer: the certificate of residence asks the census one
// question, "resident in Catalonia?", as a verification; the answer is all
// that is kept, beside (never instead of) the full census answer another
// purpose fetched; the certificate says nothing more; withdrawing its
// consent deletes the answer and nothing else.
func TestMinimisedAnswer(t *testing.T) {
	d := startDev(t)

	// One who gave no other consent: the answer is all Obert holds.
	a := newUser(t)
	a.get(d.URL + "/lang/en?return=/")
	a.signIn(d.URL, d.citizenOf(t, "young-at-risk"))
	a.get(d.URL + "/folder/documents")
	a.mustSee("Certificate of residence in Catalonia", "One answer only: yes or no")
	if s := a.post(d.URL+"/folder/documents", url.Values{"csrf": {a.hidden("csrf")}, "type": {"residence-certificate"},
		"version": {"census-residence-certificate-v0"}}); s != http.StatusBadRequest {
		t.Fatalf("a consent text the citizen was not shown: %d", s)
	}
	a.get(d.URL + "/folder/documents")
	if s := a.post(d.URL+"/folder/documents", url.Values{"csrf": {a.hidden("csrf")}, "type": {"residence-certificate"},
		"version": {a.hidden("version")}}); s != http.StatusOK {
		t.Fatalf("ask and issue: %d %s", s, a.page)
	}
	a.mustSee("Document issued", "Certificate of residence in Catalonia")
	if held := heldFacts(t, a, d.URL); !reflect.DeepEqual(held, map[string]map[string]any{
		"census/residence-certificate": {"resident_in_catalonia": true}}) {
		t.Fatalf("held after the question alone: %v", held)
	}
	// The page of everything held says what the answer was fetched for.
	a.get(d.URL + "/folder/export")
	a.mustSee("Census — Issuing your certificate of residence in Catalonia", "Lives in Catalonia")
	got := d.Dev.Sim.Received()
	last := got[len(got)-1].Solicitudes.SolicitudTransmision[0]
	if last.DatosEspecificos == nil || !strings.Contains(string(last.DatosEspecificos.Inner), "<Pregunta>resident_in_catalonia</Pregunta>") ||
		last.DatosGenericos.Solicitante.Procedimiento.CodProcedimiento != "OBERT-RESIDENCIA" || last.DatosGenericos.Solicitante.Consentimiento != "Si" {
		t.Fatalf("the census was not asked the question alone: %+v", last)
	}
	// The certificate, as anyone with its code sees it, says the answer
	// and nothing of where.
	m := documentCSV.FindStringSubmatch(a.page)
	if m == nil {
		a.get(d.URL + "/folder/documents")
		if m = documentCSV.FindStringSubmatch(a.page); m == nil {
			t.Fatalf("no document listed:\n%s", a.page)
		}
	}
	anyone := newUser(t)
	anyone.get(d.URL + "/lang/en?return=/")
	if s := anyone.get(d.URL + "/verify?csv=" + m[1]); s != http.StatusOK {
		t.Fatalf("verify: %d", s)
	}
	anyone.mustSee("Lives in Catalonia", "Yes")
	c := d.citizenOf(t, "young-at-risk")
	if strings.Contains(anyone.page, c.Municipality) {
		t.Fatal("the certificate names the municipality")
	}

	// One who also fetched the census for recommendations keeps both.
	b := consentAndFetch(t, d, d.citizenOf(t, "older-alone"))
	b.get(d.URL + "/folder/documents")
	b.post(d.URL+"/folder/documents", url.Values{"csrf": {b.hidden("csrf")}, "type": {"residence-certificate"}, "version": {b.hidden("version")}})
	held := heldFacts(t, b, d.URL)
	if !reflect.DeepEqual(held["census/residence-certificate"], map[string]any{"resident_in_catalonia": true}) ||
		held["census/aid-recommendation"]["birth_date"] == nil || held["census/aid-recommendation"]["municipality"] == nil {
		t.Fatalf("held with both purposes: %v", held)
	}
	// What reads the recommendations' facts still reads the full answer:
	// the census certificate is made from it.
	b.get(d.URL + "/folder/documents")
	b.mustSee("Census certificate (household)")

	// Withdrawing the certificate's consent deletes its answer alone.
	b.get(d.URL + "/folder/export.json")
	var doc struct {
		Consents []struct{ ID, Purpose string } `json:"consents"`
	}
	json.Unmarshal([]byte(b.page), &doc)
	b.get(d.URL + "/folder/consent")
	for _, g := range doc.Consents {
		if g.Purpose == "residence-certificate" {
			b.post(d.URL+"/folder/consent/"+g.ID+"/withdraw", url.Values{"csrf": {b.hidden("csrf")}})
		}
	}
	held = heldFacts(t, b, d.URL)
	if _, ok := held["census/residence-certificate"]; ok || held["census/aid-recommendation"]["birth_date"] == nil {
		t.Fatalf("held after withdrawing the certificate's consent: %v", held)
	}
}
