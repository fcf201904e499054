package catalogue

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
)

// Places are the counties of Catalonia (IDESCAT's comarca codes) and the
// municipalities the anonymous questionnaire offers by name (INE's codes):
// those with aids of their own and those of the simulated population. A
// visitor elsewhere names their county alone.
type Places struct {
	Counties       []County       `json:"counties"`
	Municipalities []Municipality `json:"municipalities"`
}

// County is one comarca.
type County struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Municipality is one municipality and its county.
type Municipality struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	County string `json:"county"`
}

//go:embed places.json
var placesJSON []byte

var (
	countyCode = regexp.MustCompile(`^[0-9]{2}$`)
	muniCode   = regexp.MustCompile(`^[0-9]{5}$`)
)

// LoadPlaces reads the shipped places and checks them: codes well formed
// and unique, each municipality in a known county.
func LoadPlaces() (Places, error) {
	var p Places
	if err := json.Unmarshal(placesJSON, &p); err != nil {
		return Places{}, fmt.Errorf("catalogue: places: %w", err)
	}
	seen := map[string]bool{}
	for _, c := range p.Counties {
		if !countyCode.MatchString(c.Code) || seen[c.Code] || c.Name == "" {
			return Places{}, fmt.Errorf("catalogue: places: county %q", c.Code)
		}
		seen[c.Code] = true
	}
	for _, m := range p.Municipalities {
		if !muniCode.MatchString(m.Code) || seen[m.Code] || m.Name == "" || !seen[m.County] {
			return Places{}, fmt.Errorf("catalogue: places: municipality %q", m.Code)
		}
		seen[m.Code] = true
	}
	return p, nil
}

// CountyOf returns the county of a municipality the places name.
func (p Places) CountyOf(municipality string) (string, bool) {
	for _, m := range p.Municipalities {
		if m.Code == municipality {
			return m.County, true
		}
	}
	return "", false
}

// HasCounty reports whether code is a county of Catalonia.
func (p Places) HasCounty(code string) bool {
	for _, c := range p.Counties {
		if c.Code == code {
			return true
		}
	}
	return false
}
