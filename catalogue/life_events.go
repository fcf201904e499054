package catalogue

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

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
