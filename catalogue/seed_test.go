package catalogue_test

import (
	"strings"
	"testing"

	"github.com/obert-gov/obert/catalogue"
)

const testRegister = `[
 {"id": "age", "name": {"ca": "Govern d'Espanya", "es": "Gobierno de España", "en": "Government of Spain"}, "levels": ["state"]},
 {"id": "ajbcn", "name": {"ca": "Ajuntament de Barcelona", "es": "Ayuntamiento de Barcelona", "en": "Barcelona City Council"}, "levels": ["city"]}
]`

const testSeed = `{
 "version": 3,
 "purposes": [
  {"id": "aid-recommendation", "finalidad": "Recomanació", "procedure": "OBERT-AJUTS", "automated_action": "AA", "legal_basis": "gdpr-6-1-a"},
  {"id": "proactive-alerts", "finalidad": "Avís", "procedure": "OBERT-AVISOS", "automated_action": "AA", "reuses": "aid-recommendation", "legal_basis": "gdpr-6-1-a"}
 ],
 "categories": [
  {"id": "census", "source": "padro-municipal", "service": "PADRO", "fields": ["municipality", "birth_date"],
   "purposes": {
    "aid-recommendation": {"min_loa": "substantial", "fields": ["municipality", "birth_date"]},
    "proactive-alerts": {"min_loa": "substantial", "fields": ["birth_date"]}}},
  {"id": "tax", "source": "aeat", "service": "AEAT103I", "fields": ["income_annual"],
   "purposes": {"aid-recommendation": {"min_loa": "high", "fields": ["income_annual"]}}}
 ],
 "archetypes": ["older-alone", "single-parent"]
}`

func testSnapshot(t *testing.T) catalogue.Snapshot {
	t.Helper()
	r, err := catalogue.ParseRegister([]byte(testRegister))
	if err != nil {
		t.Fatal(err)
	}
	s, err := catalogue.ParseSeed([]byte(testSeed), r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSeed(t *testing.T) {
	t.Parallel()
	s, err := catalogue.Seed()
	if err != nil {
		t.Fatal(err)
	}
	if s.Version < 1 || len(s.Purposes) == 0 || len(s.Categories) == 0 || len(s.Archetypes) == 0 || len(s.Administrations.All()) == 0 {
		t.Fatalf("seed is incomplete: %+v", s)
	}
	// Every category the guard knows today is in the seed.
	for _, id := range []string{"census", "tax", "employment"} {
		if _, ok := s.Category(id); !ok {
			t.Errorf("category %s missing", id)
		}
	}
	if p, ok := s.Purpose("proactive-alerts"); !ok || p.Reuses != "aid-recommendation" {
		t.Errorf("proactive-alerts = %+v, %v", p, ok)
	}
}

func TestParseSeedListsEveryProblem(t *testing.T) {
	t.Parallel()
	r, err := catalogue.ParseRegister([]byte(testRegister))
	if err != nil {
		t.Fatal(err)
	}
	_, err = catalogue.ParseSeed([]byte(`{
	 "version": 0,
	 "purposes": [
	  {"id": "aid-recommendation", "finalidad": "", "procedure": "OBERT AJUTS", "legal_basis": "gdpr-6-1-a"},
	  {"id": "proactive-alerts", "finalidad": "Avís", "procedure": "OBERT-AVISOS", "reuses": "alerts", "legal_basis": ""},
	  {"id": "aid-recommendation", "finalidad": "x", "procedure": "X", "legal_basis": "gdpr-6-1-a"}
	 ],
	 "categories": [
	  {"id": "census", "source": "", "service": "PADRO", "fields": ["birth_date", "birth_date", "Bad"],
	   "purposes": {
	    "aid-recommendation": {"min_loa": "medium", "fields": ["gender"]},
	    "research": {"min_loa": "low", "fields": ["birth_date"]}}},
	  {"id": "tax", "source": "aeat", "service": "", "fields": [], "purposes": {}},
	  {"id": "tax", "source": "aeat", "service": "AEAT", "fields": ["income_annual"],
	   "purposes": {"aid-recommendation": {"min_loa": "low", "fields": ["income_annual"]}}}
	 ],
	 "archetypes": ["older-alone", "older-alone", "X"]
	}`), r)
	if err == nil {
		t.Fatal("a bad seed was accepted")
	}
	for _, want := range []string{
		"version: a positive number",
		"purpose aid-recommendation: finalidad is required",
		"purpose aid-recommendation: procedure: a code",
		"purpose aid-recommendation: listed twice",
		"purpose proactive-alerts: legal_basis: gdpr-6-1-a (consent), law:<reference> or noopo:<reference>",
		`purpose proactive-alerts: reuses "alerts", which is not a purpose`,
		`category census: source "": an administration code`,
		"category census: field birth_date: listed twice",
		`category census: field "Bad": lower-case letters`,
		`category census: purpose aid-recommendation: min_loa "medium" is not one of low, substantial, high`,
		"category census: purpose aid-recommendation: field gender is not one of the category's",
		`category census: purpose "research" is not a purpose`,
		`category tax: service "": an SCSP code`,
		"category tax: fields: at least one",
		"category tax: purposes: at least one",
		"category tax: listed twice",
		"archetype older-alone: listed twice",
		`archetype "X": lower-case letters`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\ndoes not say %q", err, want)
		}
	}
}

func TestParseSeedReuseReadsOnlyWhatWasFetched(t *testing.T) {
	t.Parallel()
	r, err := catalogue.ParseRegister([]byte(testRegister))
	if err != nil {
		t.Fatal(err)
	}
	_, err = catalogue.ParseSeed([]byte(`{
	 "version": 1,
	 "purposes": [
	  {"id": "aid-recommendation", "finalidad": "R", "procedure": "R", "automated_action": "AA", "legal_basis": "gdpr-6-1-a"},
	  {"id": "proactive-alerts", "finalidad": "A", "procedure": "A", "automated_action": "AA", "reuses": "aid-recommendation", "legal_basis": "gdpr-6-1-a"}
	 ],
	 "categories": [
	  {"id": "census", "source": "padro-municipal", "service": "PADRO", "fields": ["municipality", "birth_date"],
	   "purposes": {
	    "aid-recommendation": {"min_loa": "substantial", "fields": ["municipality"]},
	    "proactive-alerts": {"min_loa": "substantial", "fields": ["municipality", "birth_date"]}}},
	  {"id": "tax", "source": "aeat", "service": "AEAT", "fields": ["income_annual"],
	   "purposes": {"proactive-alerts": {"min_loa": "substantial", "fields": ["income_annual"]}}}
	 ],
	 "archetypes": ["older-alone"]
	}`), r)
	for _, want := range []string{
		"category census: purpose proactive-alerts reuses aid-recommendation's facts, which do not include birth_date",
		"category tax: purpose proactive-alerts reuses aid-recommendation's facts, but the category does not serve aid-recommendation",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSeed = %v, want it to say %q", err, want)
		}
	}
}
