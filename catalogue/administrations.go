package catalogue

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Levels of government, from the widest.
var Levels = []string{"state", "generalitat", "county", "city"}

// Languages every citizen-facing text is given in.
var Languages = []string{"ca", "es", "en"}

// Administration is a party that may publish aids and register connectors.
// Who an administration is, and at which levels it may publish, comes from
// here, never from what it sends.
type Administration struct {
	ID     string            `json:"id"`
	Name   map[string]string `json:"name"`   // by language: ca, es, en
	Levels []string          `json:"levels"` // the levels whose aids it may publish
}

// May reports whether the administration may publish at level.
func (a Administration) May(level string) bool { return slices.Contains(a.Levels, level) }

// Register is the register of administrations.
type Register struct {
	byID map[string]Administration
	all  []Administration
}

//go:embed administrations.json
var administrationsJSON []byte

var adminID = regexp.MustCompile(`^[a-z][a-z0-9-]{1,31}$`)

// Administrations returns the register Obert ships.
func Administrations() (Register, error) { return ParseRegister(administrationsJSON) }

// ParseRegister reads a register and checks every entry.
func ParseRegister(b []byte) (Register, error) {
	var all []Administration
	if err := json.Unmarshal(b, &all); err != nil {
		return Register{}, fmt.Errorf("catalogue: administrations: %w", err)
	}
	r := Register{byID: map[string]Administration{}, all: all}
	var problems []string
	for _, a := range all {
		if !adminID.MatchString(a.ID) {
			problems = append(problems, fmt.Sprintf("id %q: lower-case letters, digits and -, 2 to 32", a.ID))
		}
		if _, dup := r.byID[a.ID]; dup {
			problems = append(problems, fmt.Sprintf("%s: listed twice", a.ID))
		}
		for _, l := range Languages {
			if n := strings.TrimSpace(a.Name[l]); n == "" || len(n) > 200 {
				problems = append(problems, fmt.Sprintf("%s: name.%s: 1 to 200 characters", a.ID, l))
			}
		}
		if len(a.Levels) == 0 {
			problems = append(problems, fmt.Sprintf("%s: levels: at least one", a.ID))
		}
		for _, lv := range a.Levels {
			if !slices.Contains(Levels, lv) {
				problems = append(problems, fmt.Sprintf("%s: level %q is not one of %s", a.ID, lv, strings.Join(Levels, ", ")))
			}
		}
		r.byID[a.ID] = a
	}
	if len(problems) > 0 {
		return Register{}, fmt.Errorf("catalogue: administrations: %s", strings.Join(problems, "; "))
	}
	return r, nil
}

// Get returns the administration with id.
func (r Register) Get(id string) (Administration, bool) {
	a, ok := r.byID[id]
	return a, ok
}

// All lists the register in its order.
func (r Register) All() []Administration { return slices.Clone(r.all) }

// ByName returns the administration whose name in language lang is name.
func (r Register) ByName(lang, name string) (Administration, bool) {
	for _, a := range r.all {
		if a.Name[lang] == name {
			return a, true
		}
	}
	return Administration{}, false
}
