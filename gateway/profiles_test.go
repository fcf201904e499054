package gateway_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/obert-gov/obert/connectors/sim"
)

// TestActingForACompany: a person the register of representations names
// as a company's representative checks it (with their consent, as an
// exchange), switches to the company's profile and sees the company's
// folder: its consent offers, its data (asked with the company as the
// holder), its log, each exchange saying who acted for it; the person's
// own pages are closed meanwhile. Nobody switches to a company the
// register does not give them, and the switch is in the person's log.
func TestActingForACompany(t *testing.T) {
	d := startDev(t)
	var rep, other sim.Citizen
	for _, c := range d.Dev.Citizens {
		switch {
		case len(c.Represents) > 0 && rep.DocNumber == "":
			rep = c
		case len(c.Represents) == 0 && other.DocNumber == "":
			other = c
		}
	}
	if rep.DocNumber == "" || other.DocNumber == "" {
		t.Fatal("the synthetic population has no representative, or only representatives")
	}
	company := rep.Represents[0].Company
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, rep)

	u.get(d.URL + "/folder/profile")
	// The register is consulted on a law: the page cites it, asks no
	// consent, and the check is recorded as such.
	u.mustSee("My profiles", "For a company", "Obert checks it without asking your consent, by law", "Law 39/2015")
	if s := u.post(d.URL+"/folder/profile/check", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("check the register: %d", s)
	}
	u.mustSee("We asked the register of representations", company.Name, company.NIF)
	sent := d.Dev.Sim.Received()
	if last := sent[len(sent)-1]; last.Atributos.CodigoCertificado != "RERE_REPRESENTACIONS" ||
		last.Solicitudes.SolicitudTransmision[0].DatosGenericos.Titular.Documentacion != rep.DocNumber ||
		last.Solicitudes.SolicitudTransmision[0].DatosGenericos.Solicitante.Consentimiento != "Ley" {
		t.Fatalf("the register was asked %s about %s", last.Atributos.CodigoCertificado,
			last.Solicitudes.SolicitudTransmision[0].DatosGenericos.Titular.Documentacion)
	}

	// A company the register does not give them.
	if s := u.post(d.URL+"/folder/profile", url.Values{"csrf": {u.hidden("csrf")}, "to": {"company"}, "nif": {"B00000000"}}); s != http.StatusForbidden {
		t.Fatalf("switch to a company not represented: %d", s)
	}
	u.get(d.URL + "/folder/profile")
	if s := u.post(d.URL+"/folder/profile", url.Values{"csrf": {u.hidden("csrf")}, "to": {"company"}, "nif": {company.NIF}}); s != http.StatusOK {
		t.Fatalf("switch to the company: %d", s)
	}
	u.mustSee("Folder of "+company.Name, "You are acting for "+company.Name+" ("+company.NIF+")")

	// The person's own pages are closed while acting for the company.
	for _, p := range []string{"/folder/aids", "/folder/documents", "/folder/life", "/folder/rights", "/folder/activity"} {
		if s := u.get(d.URL + p); s != http.StatusForbidden || !strings.Contains(u.page, "You are acting for a company now") {
			t.Errorf("%s while acting for the company: %d", p, s)
		}
	}
	// The company's data runs on a law unless it objects: nothing to
	// consent to, the law cited, an objection offered.
	u.get(d.URL + "/folder/consent")
	u.mustSee("Consultations the law allows without your consent", "Company data", "Law 39/2015, article 28.2", "I object")
	if strings.Contains(u.page, "Census data to recommend aids to you") {
		t.Fatal("a person's offer on the company's consent page")
	}
	if s := u.post(d.URL+"/folder/consent", url.Values{"csrf": {u.hidden("csrf")}, "grant": {"census.aid-recommendation"},
		"version.census.aid-recommendation": {"census-aid-recommendation-v1"}}); s != http.StatusBadRequest {
		t.Fatalf("a person's consent given while acting for a company: %d", s)
	}
	before := len(d.Dev.Sim.Received())
	if s := u.fetchData(d.URL); s != http.StatusOK {
		t.Fatalf("fetch the company's data: %d", s)
	}
	u.mustSee(company.Name)
	// The register is asked again first, then the company's data.
	got := d.Dev.Sim.Received()[before:]
	if len(got) != 2 || got[0].Atributos.CodigoCertificado != "RERE_REPRESENTACIONS" || got[1].Atributos.CodigoCertificado != "AEAT_CORRIENT_PJ" ||
		got[1].Solicitudes.SolicitudTransmision[0].DatosGenericos.Titular.Documentacion != company.NIF ||
		got[1].Solicitudes.SolicitudTransmision[0].DatosGenericos.Solicitante.Consentimiento != "NoOpo" {
		t.Fatalf("the company's fetch sent %d requests", len(got))
	}
	// An objection stops it, and is recorded as the company's.
	u.get(d.URL + "/folder/consent")
	if s := u.post(d.URL+"/folder/objection", url.Values{"csrf": {u.hidden("csrf")}, "purpose": {"company-folder"}, "object": {"1"},
		"return": {"/folder/consent"}}); s != http.StatusOK {
		t.Fatalf("object: %d", s)
	}
	u.mustSee("You objected on ")
	before = len(d.Dev.Sim.Received())
	u.fetchData(d.URL)
	for _, p := range d.Dev.Sim.Received()[before:] {
		if p.Atributos.CodigoCertificado == "AEAT_CORRIENT_PJ" {
			t.Fatal("the company's data was asked for after its objection")
		}
	}
	u.get(d.URL + "/folder/consent")
	u.post(d.URL+"/folder/objection", url.Values{"csrf": {u.hidden("csrf")}, "purpose": {"company-folder"}, "object": {"0"},
		"return": {"/folder/consent"}})
	if s := u.post(d.URL+"/folder/objection", url.Values{"csrf": {u.hidden("csrf")}, "purpose": {"aid-recommendation"}, "object": {"1"}}); s != http.StatusBadRequest {
		t.Fatalf("an objection to a purpose on consent: %d", s)
	}
	// A representation the register no longer gives asks for nothing.
	d.Dev.Sim.SetFault(sim.FaultState + "0233")
	before = len(d.Dev.Sim.Received())
	u.fetchData(d.URL)
	u.mustSee("The register of representations no longer says you represent this company")
	for _, p := range d.Dev.Sim.Received()[before:] {
		if p.Atributos.CodigoCertificado == "AEAT_CORRIENT_PJ" {
			t.Fatal("the company's data was asked for without a representation")
		}
	}
	d.Dev.Sim.SetFault(sim.FaultNone)
	u.get(d.URL + "/folder/access")
	text := html.UnescapeString(u.page)
	if !strings.Contains(text, "By law, unless you object: Law 39/2015, article 28.2") || strings.Count(text, "<dt>Acted by</dt><dd>you, as its representative</dd>") < 3 {
		t.Fatalf("the company's log does not say on what basis, or who acted:\n%s", u.page)
	}
	if !strings.Contains(text, "<dt>On behalf of</dt><dd>"+company.Name+" ("+company.NIF+")</dd>") ||
		!strings.Contains(text, "<dt>Acted by</dt><dd>you, as its representative</dd>") {
		t.Fatalf("the company's log does not say who acted for it:\n%s", u.page)
	}

	// Back to themself: the person's folder, and the switch in their log.
	u.get(d.URL + "/folder/profile")
	if s := u.post(d.URL+"/folder/profile", url.Values{"csrf": {u.hidden("csrf")}, "to": {"person"}}); s != http.StatusOK {
		t.Fatalf("switch back: %d", s)
	}
	u.mustSee("My life events")
	u.get(d.URL + "/folder/access")
	u.mustSee("Profile changed", company.NIF)

	// Someone else cannot act for the company.
	o := newUser(t)
	o.get(d.URL + "/lang/en?return=/")
	o.signIn(d.URL, other)
	o.get(d.URL + "/folder/profile")
	if s := o.post(d.URL+"/folder/profile", url.Values{"csrf": {o.hidden("csrf")}, "to": {"company"}, "nif": {company.NIF}}); s != http.StatusForbidden {
		t.Fatalf("a stranger switched to the company: %d", s)
	}
	if s := o.post(d.URL+"/folder/profile", url.Values{"csrf": {o.hidden("csrf")}, "to": {"employee"}}); s != http.StatusForbidden && other.Employer == "" {
		t.Fatalf("someone who is not public staff switched to it: %d", s)
	}
}

// TestPublicEmployeeProfile: a sign-in that says the person is an
// administration's staff opens that profile, whose home names the
// administration and what it publishes.
func TestPublicEmployeeProfile(t *testing.T) {
	d := startDev(t)
	var e sim.Citizen
	for _, c := range d.Dev.Citizens {
		if c.Employer != "" {
			e = c
			break
		}
	}
	if e.DocNumber == "" {
		t.Fatal("the synthetic population has no public employee")
	}
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, e)
	u.get(d.URL + "/folder/profile")
	u.mustSee("As staff of an administration", "You are registered as staff of: ")
	if s := u.post(d.URL+"/folder/profile", url.Values{"csrf": {u.hidden("csrf")}, "to": {"employee"}}); s != http.StatusOK {
		t.Fatalf("switch: %d", s)
	}
	u.mustSee("My folder as public staff", "You are acting as an administration's staff", "The API for administrations (OpenAPI)")
	// The person's own pages stay theirs.
	if s := u.get(d.URL + "/folder/aids"); s != http.StatusOK {
		t.Fatalf("aids as public staff: %d", s)
	}
}
