package catalogue_test

import (
	"testing"

	"github.com/obert-gov/obert/catalogue"
)

func TestPlaces(t *testing.T) {
	p, err := catalogue.LoadPlaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Counties) != 43 {
		t.Errorf("%d counties, want Catalonia's 43", len(p.Counties))
	}
	if c, ok := p.CountyOf("08187"); !ok || c != "40" {
		t.Errorf("Sabadell's county: %q %t", c, ok)
	}
	if p.HasCounty("99") || !p.HasCounty("20") {
		t.Error("HasCounty")
	}
}

func TestLifeEvents(t *testing.T) {
	es, err := catalogue.LoadLifeEvents()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < 6 {
		t.Fatalf("%d life events", len(es))
	}
	for _, e := range es {
		if len(e.Procedures) == 0 || len(e.Categories) == 0 {
			t.Errorf("%s has no procedures or no data", e.ID)
		}
	}
}
