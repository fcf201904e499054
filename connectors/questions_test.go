package connectors_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors"
)

func TestMinimise(t *testing.T) {
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	full := map[string]any{"municipality_code": "17079", "municipality": "Girona", "birth_date": "1961-11-30",
		"income_annual": 16799.0, "employed": false, "unemployed_since": "2026-01-10"}
	for _, tc := range []struct {
		name      string
		values    map[string]any
		requested []string
		want      map[string]any
	}{
		{"resident and 65 today", full, []string{"resident_in_catalonia", "over_65"},
			map[string]any{"resident_in_catalonia": true, "over_65": true}},
		{"outside Catalonia, a day short of 65", map[string]any{"municipality_code": "28079", "birth_date": "1961-12-01"},
			[]string{"resident_in_catalonia", "over_65"}, map[string]any{"resident_in_catalonia": false, "over_65": false}},
		{"income just below twice the IPREM, out of work", full, []string{"income_below_twice_iprem", "registered_unemployed"},
			map[string]any{"income_below_twice_iprem": true, "registered_unemployed": true}},
		{"income at twice the IPREM, working", map[string]any{"income_annual": 16800, "employed": true, "unemployed_since": ""},
			[]string{"income_below_twice_iprem", "registered_unemployed"},
			map[string]any{"income_below_twice_iprem": false, "registered_unemployed": false}},
		{"an answer the facts cannot decide is left out", map[string]any{"municipality_code": "08"},
			[]string{"resident_in_catalonia", "over_65"}, map[string]any{}},
		{"a source's own answer is kept", map[string]any{"resident_in_catalonia": false, "municipality_code": "08019"},
			[]string{"resident_in_catalonia"}, map[string]any{"resident_in_catalonia": false}},
		{"plain fields pass, nothing else", full, []string{"municipality", "resident_in_catalonia"},
			map[string]any{"municipality": "Girona", "resident_in_catalonia": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := connectors.Minimise(tc.values, tc.requested, at); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Minimise = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAnswerable(t *testing.T) {
	census := []string{"municipality_code", "birth_date", "household_size"}
	if got := connectors.Answerable(connectors.Census, census, nil); !reflect.DeepEqual(got, []string{"over_65", "resident_in_catalonia"}) {
		t.Fatalf("census: %v", got)
	}
	// Without the birth date, over 65 cannot be answered; a source that
	// verifies residence itself needs no municipality.
	if got := connectors.Answerable(connectors.Census, []string{"household_size"}, []string{"resident_in_catalonia"}); !reflect.DeepEqual(got, []string{"resident_in_catalonia"}) {
		t.Fatalf("census without dates: %v", got)
	}
	if got := connectors.Answerable(connectors.Tax, census, nil); len(got) != 0 {
		t.Fatalf("tax from census fields: %v", got)
	}
}
