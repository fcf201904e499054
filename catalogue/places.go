package catalogue

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
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

// LifeEvent is a moment of a person's life (having a child, losing one's
// job…) and what matters for it: the data that decide its aids, the
// documents Obert issues that accredit it, and the procedures to do. The
// aids declare their life events themselves.
type LifeEvent struct {
	ID         string            `json:"id"`
	Title      map[string]string `json:"title"`
	Text       map[string]string `json:"text"`
	Categories []string          `json:"categories"`
	Documents  []string          `json:"documents"`
	Procedures []Procedure       `json:"procedures"`
}

// Procedure is one step a life event asks of a person, done at the
// administration's own site.
type Procedure struct {
	ID    string            `json:"id"`
	Title map[string]string `json:"title"`
	URL   string            `json:"url"`
}

//go:embed life_events.json
var lifeEventsJSON []byte

var eventID = regexp.MustCompile(`^[a-z][a-z0-9-]{1,63}$`)

// LoadLifeEvents reads the shipped life events and checks them: ids well
// formed and unique (procedures' too), texts in the three languages.
func LoadLifeEvents() ([]LifeEvent, error) {
	var es []LifeEvent
	if err := json.Unmarshal(lifeEventsJSON, &es); err != nil {
		return nil, fmt.Errorf("catalogue: life events: %w", err)
	}
	seen := map[string]bool{}
	three := func(m map[string]string) bool { return m["ca"] != "" && m["es"] != "" && m["en"] != "" }
	for _, e := range es {
		if !eventID.MatchString(e.ID) || seen[e.ID] || !three(e.Title) || !three(e.Text) {
			return nil, fmt.Errorf("catalogue: life event %q", e.ID)
		}
		seen[e.ID] = true
		for _, p := range e.Procedures {
			if !eventID.MatchString(p.ID) || seen["p:"+p.ID] || !three(p.Title) || !strings.HasPrefix(p.URL, "https://") {
				return nil, fmt.Errorf("catalogue: life event %s: procedure %q", e.ID, p.ID)
			}
			seen["p:"+p.ID] = true
		}
	}
	return es, nil
}

// LifeEventIDs are the ids of the shipped life events, which aids may
// declare.
func LifeEventIDs() []string {
	es, _ := LoadLifeEvents()
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}
