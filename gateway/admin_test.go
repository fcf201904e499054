package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
)

// adminClient is an administration's HTTP client with a client-credentials
// token from the development provider.
func adminClient(t *testing.T, d *devGateway, id string) *http.Client {
	t.Helper()
	c := d.Dev.AdminClients[id]
	cc := clientcredentials.Config{ClientID: id, ClientSecret: c.Secret, TokenURL: d.Dev.IdPURL + "/token"}
	return cc.Client(context.Background())
}

func call(t *testing.T, c *http.Client, method, u string, body any) (int, map[string]any) {
	t.Helper()
	return callIf(t, c, method, u, "", body)
}

// change sends a change against the registration's current version, as
// GET gives its ETag.
func change(t *testing.T, c *http.Client, method, u string, body any) (int, map[string]any) {
	t.Helper()
	return callIf(t, c, method, u, etagOf(t, c, u), body)
}

func etagOf(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get("ETag")
}

// callIf sends a request with If-Match: etag (none when empty).
func callIf(t *testing.T, c *http.Client, method, u, etag string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Content-Type", "application/json")
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// dependencyRegistration registers the simulator's fourth service, which
// no code in Obert knows, with its fields declared.
func dependencyRegistration(t *testing.T, simURL, sandboxDoc string) map[string]any {
	t.Helper()
	resp, err := http.Get(simURL + "/certificate")
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := func(title string) map[string]string {
		return map[string]string{"title": title, "what": "Whether a dependent person is recognised in your household, the grade and since when.",
			"from": "The Catalan dependency system (SISAAD), through Via Oberta.", "why": "To tell you which aids for families caring for a dependent person may be yours.",
			"how_long": "30 days, or until you withdraw.", "who_else": "Nobody else.", "if_no": "Nothing: the other aids are still shown.",
			"requester": "Department of Social Rights", "source": "Dependency system (SISAAD)"}
	}
	l3 := func(ca, es, en string) map[string]string { return map[string]string{"ca": ca, "es": es, "en": en} }
	return map[string]any{
		"id": "dependency-gencat", "category": "dependency", "source": "gencat-sisaad", "service_code": sim.ServiceDependency,
		"endpoint": simURL + "/scsp/dependency", "certificate": string(cert), "namespace": sim.NSDependency,
		"fields": []scsp.FieldSpec{
			{Name: "dependent_recognised", Element: "Reconeguda", Type: "bool", Labels: l3("Dependència reconeguda", "Dependencia reconocida", "Dependency recognised")},
			{Name: "dependency_grade", Element: "Grau", Type: "int", Labels: l3("Grau de dependència", "Grado de dependencia", "Dependency grade")},
			{Name: "dependency_since", Element: "Data", Type: "date", Labels: l3("Reconeguda des de", "Reconocida desde", "Recognised since")}},
		"purposes": []string{"aid-recommendation"}, "legal_bases": []string{"gdpr-6-1-a"}, "min_loa": "substantial", "retention": "720h",
		"texts":   map[string]any{"ca": text("Dependència a la llar"), "es": text("Dependencia en el hogar"), "en": text("Dependency in the household")},
		"sandbox": map[string]string{"doc_type": "NIF", "doc_number": sandboxDoc},
	}
}

// TestAdminRegistersAFourthConnector: an administration registers, through
// the API with a client-credentials token, a connector for a service no code
// in Obert knows; after a sandbox test call it is active, offered to
// citizens and fetched over signed SCSP; another administration cannot see
// or touch it; bad registrations change nothing; deactivation stops it.
func TestAdminRegistersAFourthConnector(t *testing.T) {
	ctx := context.Background()
	d := startDev(t)
	c := d.citizenOf(t, "dependent-household")
	base := d.URL + "/admin/v1/connectors"
	gencat, ajbcn := adminClient(t, d, "sandbox-gencat"), adminClient(t, d, "sandbox-ajbcn")
	reg := dependencyRegistration(t, d.Dev.SimURL, c.DocNumber)

	if s, _ := call(t, http.DefaultClient, http.MethodPost, base, reg); s != http.StatusUnauthorized {
		t.Fatalf("without a token: %d", s)
	}
	// Bad registrations: every problem listed, nothing stored.
	bad := func(change func(m map[string]any)) map[string]any {
		m := dependencyRegistration(t, d.Dev.SimURL, c.DocNumber)
		change(m)
		return m
	}
	for name, body := range map[string]map[string]any{
		"plain http elsewhere":  bad(func(m map[string]any) { m["endpoint"] = "http://example.org/scsp" }),
		"not a certificate":     bad(func(m map[string]any) { m["certificate"] = "hello" }),
		"unknown purpose":       bad(func(m map[string]any) { m["purposes"] = []string{"marketing"} }),
		"census is Obert's":     bad(func(m map[string]any) { m["category"] = "census" }),
		"field of no type":      bad(func(m map[string]any) { m["fields"] = []scsp.FieldSpec{{Name: "x", Element: "X", Type: "float"}} }),
		"texts missing":         bad(func(m map[string]any) { delete(m["texts"].(map[string]any), "es") }),
		"consent not the basis": bad(func(m map[string]any) { m["legal_bases"] = []string{"law:none"} }),
		"a title too long": bad(func(m map[string]any) {
			m["texts"].(map[string]any)["ca"].(map[string]string)["title"] = strings.Repeat("x", 20000)
		}),
		"a control character": bad(func(m map[string]any) {
			m["texts"].(map[string]any)["es"].(map[string]string)["why"] = "Para\u202eotra cosa"
		}),
		"a field with no name for citizens": bad(func(m map[string]any) {
			m["fields"].([]scsp.FieldSpec)[0].Labels = nil
		}),
	} {
		s, p := call(t, gencat, http.MethodPost, base, body)
		if s != http.StatusBadRequest || p["errors"] == nil {
			t.Errorf("%s: %d %v", name, s, p)
		}
	}
	if s, p := call(t, gencat, http.MethodPost, base, map[string]any{"id": "x", "unknown": 1}); s != http.StatusBadRequest {
		t.Errorf("unknown member: %d %v", s, p)
	}
	// A certificate that did not sign the answers: the test call fails.
	wrong := bad(func(m map[string]any) {
		_, other, _ := scsp.NewSelfSigned("not the source", time.Now())
		m["certificate"] = string(scsp.CertPEM(other))
	})
	if s, p := call(t, gencat, http.MethodPost, base, wrong); s != http.StatusUnprocessableEntity || !strings.Contains(p["detail"].(string), "signature") {
		t.Errorf("wrong certificate: %d %v", s, p)
	}
	if s, l := call(t, gencat, http.MethodGet, base, nil); s != http.StatusOK || len(l["connectors"].([]any)) != 0 {
		t.Fatalf("after refusals: %d %v", s, l)
	}

	// The good one.
	before := len(d.Dev.Sim.Received())
	s, v := call(t, gencat, http.MethodPost, base, reg)
	if s != http.StatusCreated || v["active"] != true || v["owner"] != "gencat-dsf" {
		t.Fatalf("register: %d %v", s, v)
	}
	test := d.Dev.Sim.Received()[before]
	if test.Atributos.CodigoCertificado != sim.ServiceDependency || !strings.Contains(test.Solicitudes.SolicitudTransmision[0].DatosGenericos.Solicitante.Finalidad, "Prova") {
		t.Fatalf("no sandbox test call: %+v", test.Atributos)
	}
	if s, _ := call(t, gencat, http.MethodPost, base, reg); s != http.StatusConflict {
		t.Errorf("registered twice: %d", s)
	}
	// Another administration sees nothing of it.
	if s, _ := call(t, ajbcn, http.MethodGet, base+"/dependency-gencat", nil); s != http.StatusNotFound {
		t.Errorf("ajbcn reads gencat's connector: %d", s)
	}
	if s, _ := call(t, ajbcn, http.MethodDelete, base+"/dependency-gencat", nil); s != http.StatusNotFound {
		t.Errorf("ajbcn deactivates gencat's connector: %d", s)
	}
	if s, l := call(t, ajbcn, http.MethodGet, base, nil); s != http.StatusOK || len(l["connectors"].([]any)) != 0 {
		t.Errorf("ajbcn's list: %v", l)
	}
	if s, r := call(t, gencat, http.MethodPost, base+"/dependency-gencat/test", nil); s != http.StatusOK || r["ok"] != true {
		t.Errorf("test call: %d %v", s, r)
	}

	// A citizen is offered it, consents, and it is fetched.
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, c)
	u.get(d.URL + "/folder/consent")
	u.mustSee("Dependency in the household")
	if s := u.post(d.URL+"/folder/consent", url.Values{"csrf": {u.hidden("csrf")}, "grant": {"dependency.aid-recommendation"},
		"version.dependency.aid-recommendation": {u.hidden("version.dependency.aid-recommendation")}}); s != http.StatusOK {
		t.Fatalf("grant: %d", s)
	}
	before = len(d.Dev.Sim.Received())
	u.fetchData(d.URL)
	// The citizen reads the category and its fields by the names the
	// registration gives them, in their language.
	u.mustSee("Dependency in the household", "Dependency grade", "Recognised since")
	for _, key := range []string{"category.dependency", "field.dependency"} {
		if strings.Contains(u.page, key) {
			t.Errorf("the page shows the key %s instead of a name", key)
		}
	}
	var got bool
	for _, p := range d.Dev.Sim.Received()[before:] {
		got = got || p.Atributos.CodigoCertificado == sim.ServiceDependency
	}
	if !got {
		t.Fatal("the registered connector was not used")
	}
	u.get(d.URL + "/folder/export.json")
	if !strings.Contains(u.page, `"dependency_grade"`) || !strings.Contains(u.page, `"dependent_recognised": true`) {
		t.Fatalf("export lacks the dependency facts:\n%s", u.page)
	}
	u.get(d.URL + "/folder/access?category=dependency")
	u.mustSee("dependency-gencat")

	// The administration sees how its source's data was used: counts by
	// day, purpose and outcome, nothing about who; another administration
	// sees none of it, and a bad period is a problem document.
	s, rep := call(t, gencat, http.MethodGet, d.URL+"/admin/v1/usage", nil)
	if s != http.StatusOK || fmt.Sprint(rep["sources"]) != "[gencat-sisaad]" {
		t.Fatalf("usage: %d %v", s, rep)
	}
	var exchanges float64
	for _, row := range rep["usage"].([]any) {
		r := row.(map[string]any)
		if r["source"] != "gencat-sisaad" || r["purpose"] == "" || r["day"] == "" {
			t.Fatalf("usage row %v", r)
		}
		for k := range r {
			if !slices.Contains([]string{"day", "source", "requester", "purpose", "category", "kind", "outcome", "state", "count"}, k) {
				t.Fatalf("a usage row says %s", k)
			}
		}
		if r["kind"] == "exchange.outcome" && r["outcome"] == "ok" && r["purpose"] == "aid-recommendation" {
			exchanges += r["count"].(float64)
		}
	}
	if exchanges < 1 {
		t.Fatalf("the citizen's exchange is not counted: %v", rep["usage"])
	}
	if s, rep := call(t, ajbcn, http.MethodGet, d.URL+"/admin/v1/usage", nil); s != http.StatusOK || len(rep["usage"].([]any)) != 0 {
		t.Fatalf("another administration's usage: %d %v", s, rep)
	}
	if s, _ := call(t, gencat, http.MethodGet, d.URL+"/admin/v1/usage?from=2026-13-01", nil); s != http.StatusBadRequest {
		t.Fatalf("a bad period: %d", s)
	}

	// Every change is in the audit log, under the administration.
	es, _ := d.Audit.EntriesOf(ctx, "admin:gencat-dsf", audit.Filter{})
	kinds := map[string]int{}
	for _, e := range es {
		kinds[e.Kind]++
	}
	if kinds["admin.connector.create"] != 1 || kinds["admin.connector.test"] != 1 {
		t.Errorf("audit of the administration: %v", kinds)
	}

	// Deactivated: no longer offered or fetched.
	if s, v := change(t, gencat, http.MethodDelete, base+"/dependency-gencat", nil); s != http.StatusOK || v["active"] != false {
		t.Fatalf("deactivate: %d %v", s, v)
	}
	u.get(d.URL + "/folder/consent")
	if strings.Contains(u.page, "version.dependency.aid-recommendation") {
		t.Error("a deactivated connector is still offered")
	}
	before = len(d.Dev.Sim.Received())
	u.fetchData(d.URL)
	for _, p := range d.Dev.Sim.Received()[before:] {
		if p.Atributos.CodigoCertificado == sim.ServiceDependency {
			t.Fatal("a deactivated connector was used")
		}
	}
	resp, _ := http.Get(d.URL + "/admin/v1/openapi.json")
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi.json: %v", doc["openapi"])
	}
}

// TestAdminPublishesAnAid: an administration publishes an aid with its rule
// and tests; a citizen's recommendations include it at once; a publication
// whose tests fail or that reads a category it did not declare changes
// nothing; retiring removes it.
func TestAdminPublishesAnAid(t *testing.T) {
	d := startDev(t)
	base := d.URL + "/admin/v1/aids"
	gencat, ajbcn := adminClient(t, d, "sandbox-gencat"), adminClient(t, d, "sandbox-ajbcn")
	t3 := func(s string) map[string]string { return map[string]string{"ca": s, "es": s, "en": s} }
	pub := func(rule, tests string, cats []string) map[string]any {
		return map[string]any{
			"aid": map[string]any{"id": "ajut_gent_gran_prova", "level": "generalitat",
				"title": t3("Ajut de prova per a la gent gran"), "summary": t3("Una prova."), "legal_reference": "Exemple",
				"apply_url": "https://web.gencat.cat/", "valid_from": "2026-01-01", "valid_until": "2027-12-31", "categories": cats,
				"archetypes": []string{"older-alone"},
				"criteria":   []map[string]any{{"name": "over-70", "category": "census", "text": t3("You are 70 or older")}}},
			"rule": rule, "tests": tests}
	}
	rule := "package obert.aids.ajut_gent_gran_prova\n\nimport rego.v1\n\nimport data.obert.aids.lib\n\ncriteria[\"over-70\"] := lib.age >= 70\n"
	tests := "package obert.aids.ajut_gent_gran_prova_test\n\nimport rego.v1\n\nimport data.obert.aids.ajut_gent_gran_prova as aid\n\n" +
		"test_old if {\n\tc := aid.criteria with input as {\"today\": \"2026-11-24\", \"facts\": {\"census\": {\"birth_date\": \"1940-01-01\"}}}\n\tc[\"over-70\"]\n}\n\n" +
		"test_young if {\n\tc := aid.criteria with input as {\"today\": \"2026-11-24\", \"facts\": {\"census\": {\"birth_date\": \"1990-01-01\"}}}\n\tc[\"over-70\"] == false\n}\n"

	if s, p := call(t, gencat, http.MethodPost, base, pub(rule, strings.Replace(tests, "1940-01-01", "1990-01-01", 1), []string{"census"})); s != http.StatusBadRequest {
		t.Errorf("failing tests: %d %v", s, p)
	}
	sneaky := rule + "\ncriteria[\"rich\"] := input.facts.tax.income_annual > 100000\n"
	if s, p := call(t, gencat, http.MethodPost, base, pub(sneaky, tests, []string{"census"})); s != http.StatusBadRequest || !strings.Contains(fmt.Sprint(p["errors"]), `"tax"`) {
		t.Errorf("undeclared category: %d %v", s, p)
	}
	if s, _ := call(t, gencat, http.MethodPost, base, pub(strings.Replace(rule, "ajut_gent_gran_prova", "teleassistance", 1), tests, []string{"census"})); s != http.StatusBadRequest {
		t.Errorf("wrong package: %d", s)
	}
	if s, l := call(t, gencat, http.MethodGet, base, nil); s != http.StatusOK || len(l["aids"].([]any)) != 0 {
		t.Fatalf("after refusals: %v", l)
	}
	if s, p := call(t, gencat, http.MethodPost, base, pub(rule, tests, []string{"census"})); s != http.StatusCreated {
		t.Fatalf("publish: %d %v", s, p)
	}
	if s, _ := call(t, ajbcn, http.MethodDelete, base+"/ajut_gent_gran_prova", nil); s != http.StatusNotFound {
		t.Errorf("another administration retired it: %d", s)
	}
	c := d.citizenOf(t, "older-alone")
	u := consentAndFetch(t, d, c)
	u.get(d.URL + "/folder/aids")
	u.mustSee("Ajut de prova per a la gent gran")
	if s, v := change(t, gencat, http.MethodDelete, base+"/ajut_gent_gran_prova", nil); s != http.StatusOK || v["active"] != false {
		t.Fatalf("retire: %d %v", s, v)
	}
	u.get(d.URL + "/folder/aids")
	if strings.Contains(u.page, "Ajut de prova per a la gent gran") {
		t.Fatal("a retired aid is still shown")
	}
	es, _ := d.Audit.EntriesOf(context.Background(), "admin:gencat-dsf", audit.Filter{})
	kinds := map[string]int{}
	for _, e := range es {
		kinds[e.Kind]++
	}
	if kinds["admin.aid.publish"] != 1 || kinds["admin.aid.retire"] != 1 {
		t.Errorf("audit: %v", kinds)
	}
}

// TestAdminRegistersOnALaw: an administration registers a connector for a
// purpose that runs on a law (a company's folder, on Law 39/2015 article
// 28.2 unless the company objects). It must declare that law, and only
// what its purposes run on; no consent is offered for it; the company's
// folder names it under the law and fetches it with Consentimiento NoOpo;
// an objection stops it; deactivation takes it from the law again.
func TestAdminRegistersOnALaw(t *testing.T) {
	d := startDev(t)
	var rep sim.Citizen
	for _, c := range d.Dev.Citizens {
		if len(c.Represents) > 0 {
			rep = c
			break
		}
	}
	company := rep.Represents[0].Company
	const law = "noopo:ley-39-2015-art-28"
	reg := dependencyRegistration(t, d.Dev.SimURL, company.NIF)
	l3 := func(ca, es, en string) map[string]string { return map[string]string{"ca": ca, "es": es, "en": en} }
	reg["id"], reg["category"], reg["source"], reg["service_code"] = "registry-aeat", "company_registry", "aeat-pj", scsp.ServiceCompany
	reg["endpoint"], reg["namespace"] = d.Dev.SimURL+"/scsp/company", scsp.NSCompany
	reg["fields"] = []scsp.FieldSpec{{Name: "registered_name", Element: "RaoSocial", Type: "string",
		Labels: l3("Raó social registrada", "Razón social registrada", "Registered name")}}
	reg["purposes"], reg["legal_bases"] = []string{"company-folder"}, []string{law}
	text := reg["texts"].(map[string]any)
	text["en"].(map[string]string)["title"] = "Company register entry"
	gencat := adminClient(t, d, "sandbox-gencat")
	base := d.URL + "/admin/v1/connectors"
	for name, bases := range map[string][]string{
		"consent for a purpose on a law": {"gdpr-6-1-a"},
		"a law of none of its purposes":  {law, "law:ley-39-2015-art-5"},
		"a law unknown":                  {"law:none"},
	} {
		body := maps.Clone(reg)
		body["legal_bases"] = bases
		if s, p := call(t, gencat, http.MethodPost, base, body); s != http.StatusBadRequest || !strings.Contains(fmt.Sprint(p["errors"]), "legal_bases") {
			t.Errorf("%s: %d %v", name, s, p)
		}
	}
	if s, v := call(t, gencat, http.MethodPost, base, reg); s != http.StatusCreated || v["active"] != true {
		t.Fatalf("register: %d %v", s, v)
	}

	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, rep)
	u.get(d.URL + "/folder/profile")
	u.post(d.URL+"/folder/profile/check", url.Values{"csrf": {u.hidden("csrf")}})
	if s := u.post(d.URL+"/folder/profile", url.Values{"csrf": {u.hidden("csrf")}, "to": {"company"}, "nif": {company.NIF}}); s != http.StatusOK {
		t.Fatalf("switch to the company: %d", s)
	}
	u.get(d.URL + "/folder/consent")
	u.mustSee("Consultations the law allows without your consent", "Company register entry")
	if strings.Contains(u.page, `value="company_registry.company-folder"`) {
		t.Fatal("a consent offered for a category that runs on a law")
	}
	before := len(d.Dev.Sim.Received())
	if s := u.fetchData(d.URL); s != http.StatusOK {
		t.Fatalf("fetch: %d", s)
	}
	u.mustSee("Registered name", company.Name)
	var asked int
	for _, p := range d.Dev.Sim.Received()[before:] {
		sol := p.Solicitudes.SolicitudTransmision[0].DatosGenericos
		if p.Atributos.CodigoCertificado == scsp.ServiceCompany {
			asked++
			if sol.Solicitante.Consentimiento != "NoOpo" || sol.Titular.Documentacion != company.NIF {
				t.Errorf("asked with %s about %s", sol.Solicitante.Consentimiento, sol.Titular.Documentacion)
			}
		}
	}
	if asked != 2 { // the built-in company connector and the registered one
		t.Fatalf("the AEAT's company service was asked %d times, want 2", asked)
	}
	u.get(d.URL + "/folder/access?category=company_registry")
	u.mustSee("By law, unless you object: Law 39/2015, article 28.2")

	// An objection stops it.
	u.get(d.URL + "/folder/consent")
	u.post(d.URL+"/folder/objection", url.Values{"csrf": {u.hidden("csrf")}, "purpose": {"company-folder"}, "object": {"1"}, "return": {"/folder/consent"}})
	before = len(d.Dev.Sim.Received())
	u.fetchData(d.URL)
	for _, p := range d.Dev.Sim.Received()[before:] {
		if p.Atributos.CodigoCertificado == scsp.ServiceCompany {
			t.Fatal("asked after the objection")
		}
	}
	// Deactivated, the law no longer covers it.
	if s, v := change(t, gencat, http.MethodDelete, base+"/registry-aeat", nil); s != http.StatusOK || v["active"] != false {
		t.Fatalf("deactivate: %d %v", s, v)
	}
	u.get(d.URL + "/folder/consent")
	if strings.Contains(u.page, "Company register entry") {
		t.Error("a deactivated connector is still named under the law")
	}
}

// TestAFetchFollowsAChangeCommittedElsewhere: a deactivation committed to
// the database by someone else (another replica; here straight through
// the store, so nothing wakes this process and its follower polls only
// once a second) stops the very next fetch: the fetch's first read gives
// the catalogue's version with the citizen's grants, and the connectors
// follow it before anything is decided.
func TestAFetchFollowsAChangeCommittedElsewhere(t *testing.T) {
	ctx := context.Background()
	d := startDev(t)
	c := d.citizenOf(t, "dependent-household")
	gencat := adminClient(t, d, "sandbox-gencat")
	if s, v := call(t, gencat, http.MethodPost, d.URL+"/admin/v1/connectors", dependencyRegistration(t, d.Dev.SimURL, c.DocNumber)); s != http.StatusCreated {
		t.Fatalf("register: %d %v", s, v)
	}
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, c)
	u.get(d.URL + "/folder/consent")
	if s := u.post(d.URL+"/folder/consent", url.Values{"csrf": {u.hidden("csrf")}, "grant": {"dependency.aid-recommendation"},
		"version.dependency.aid-recommendation": {u.hidden("version.dependency.aid-recommendation")}}); s != http.StatusOK {
		t.Fatalf("grant: %d", s)
	}
	asked := func() bool {
		before := len(d.Dev.Sim.Received())
		u.fetchData(d.URL)
		for _, p := range d.Dev.Sim.Received()[before:] {
			if p.Atributos.CodigoCertificado == sim.ServiceDependency {
				return true
			}
		}
		return false
	}
	if !asked() {
		t.Fatal("the registered connector was not used")
	}
	reg, err := d.Store.GetConnector(ctx, "gencat-dsf", "dependency-gencat")
	if err != nil {
		t.Fatal(err)
	}
	reg.Active, reg.UpdatedAt = false, time.Now()
	if _, err := d.Store.UpdateConnector(ctx, reg, reg.Version); err != nil {
		t.Fatal(err)
	}
	if asked() {
		t.Fatal("a connector deactivated before the fetch was used")
	}
}
