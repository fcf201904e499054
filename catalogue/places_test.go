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
