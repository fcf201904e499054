package catalogue

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// LevelsOfAssurance a sign-in can reach, from the weakest (eIDAS).
var LevelsOfAssurance = []string{"low", "substantial", "high"}

// Purpose is what data is processed for. Its SCSP texts travel in every
// request made for it.
type Purpose struct {
	ID        string `json:"id"`
	Finalidad string `json:"finalidad"` // SCSP Finalidad
	Procedure string `json:"procedure"` // SCSP procedure code
	// AutomatedAction names the automated administrative action (Law
	// 40/2015, art. 41) that makes the purpose's requests: no official
	// decides them, and each request names it instead of one.
	AutomatedAction string `json:"automated_action"`
	// Reuses names the purpose whose stored facts this one may use, when
	// the citizen consented to both, rather than asking the sources again.
	Reuses string `json:"reuses,omitempty"`
	// LegalBasis is what the purpose runs on: "gdpr-6-1-a", the citizen's
	// consent (SCSP Consentimiento "Si"); "law:<reference>", a law that
	// obliges or allows it without consent ("Ley"); or "noopo:<reference>",
	// a law that allows it unless the citizen objects ("NoOpo").
	LegalBasis string `json:"legal_basis"`
	// Law cites the law of a law or noopo basis, in ca, es and en: what
	// the citizen is told instead of being asked.
	Law map[string]string `json:"law,omitempty"`
	// Retention is how long facts fetched on a law or noopo basis are
	// kept (a consent's offer says it for consent).
	Retention string `json:"retention,omitempty"`
}

// Kinds of legal basis.
const (
	BasisConsent = "consent"
	BasisLaw     = "law"
	BasisNoOpo   = "noopo"
)

// BasisKind is the kind of a legal basis ("" for one Obert does not know).
func BasisKind(basis string) string {
	switch {
	case basis == "gdpr-6-1-a":
		return BasisConsent
	case strings.HasPrefix(basis, "law:") && len(basis) > len("law:"):
		return BasisLaw
	case strings.HasPrefix(basis, "noopo:") && len(basis) > len("noopo:"):
		return BasisNoOpo
	}
	return ""
}

// SCSPBases are, by procedure code, the SCSP Consentimiento each purpose's
// requests carry: Si for consent, Ley for a law, NoOpo for a law unless
// the citizen objects. The simulator checks requests against it, as a
// source checks a requester's authorisation.
func (s Snapshot) SCSPBases() map[string]string {
	out := map[string]string{}
	for _, p := range s.Purposes {
		out[p.Procedure] = map[string]string{BasisConsent: "Si", BasisLaw: "Ley", BasisNoOpo: "NoOpo"}[p.Kind()]
	}
	return out
}

// Kind is the kind of p's legal basis.
func (p Purpose) Kind() string { return BasisKind(p.LegalBasis) }

// Category is one kind of data a source holds about a citizen.
type Category struct {
	ID      string `json:"id"`
	Source  string `json:"source"`  // the source administration's code
	Service string `json:"service"` // SCSP CodigoCertificado
	// Holder is whose data it is: a person's (empty) or a company's, which
	// only those acting for it see.
	Holder string   `json:"holder,omitempty"`
	Fields []string `json:"fields"` // every field the service can release
	// Purposes says, for each purpose the category may serve, the minimal
	// fields and the weakest sign-in.
	Purposes map[string]Use `json:"purposes"`
}

// Use is how a category may be used for one purpose.
type Use struct {
	MinLoA string   `json:"min_loa"`
	Fields []string `json:"fields"` // a subset of the category's
}

// Snapshot is one version of everything Obert knows.
type Snapshot struct {
	Version         int64
	Administrations Register
	Purposes        []Purpose
	Categories      []Category
	// Archetypes are the profiles of the anonymous questionnaire, which
	// the simulator's population and the recommender's packages share.
	Archetypes []string
}

//go:embed seed.json
var seedJSON []byte

// Seed returns the snapshot Obert ships: the register and the built-in
// purposes, categories and archetypes.
func Seed() (Snapshot, error) {
	r, err := Administrations()
	if err != nil {
		return Snapshot{}, err
	}
	return ParseSeed(seedJSON, r)
}

// ParseSeed reads a seed document, completes it with the register r and
// checks it.
func ParseSeed(b []byte, r Register) (Snapshot, error) {
	var doc struct {
		Version    int64      `json:"version"`
		Purposes   []Purpose  `json:"purposes"`
		Categories []Category `json:"categories"`
		Archetypes []string   `json:"archetypes"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return Snapshot{}, fmt.Errorf("catalogue: seed: %w", err)
	}
	s := Snapshot{Version: doc.Version, Administrations: r, Purposes: doc.Purposes, Categories: doc.Categories,
		Archetypes: doc.Archetypes}
	if err := s.Validate(); err != nil {
		return Snapshot{}, err
	}
	return s, nil
}

// Purpose returns the purpose with id.
func (s Snapshot) Purpose(id string) (Purpose, bool) {
	i := slices.IndexFunc(s.Purposes, func(p Purpose) bool { return p.ID == id })
	if i < 0 {
		return Purpose{}, false
	}
	return s.Purposes[i], true
}

// Category returns the category with id.
func (s Snapshot) Category(id string) (Category, bool) {
	i := slices.IndexFunc(s.Categories, func(c Category) bool { return c.ID == id })
	if i < 0 {
		return Category{}, false
	}
	return s.Categories[i], true
}

var (
	purposeID = regexp.MustCompile(`^[a-z][a-z0-9-]{1,63}$`)
	fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	codeLike  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// Validate lists every problem of the snapshot at once.
func (s Snapshot) Validate() error {
	var ps []string
	bad := func(format string, a ...any) { ps = append(ps, fmt.Sprintf(format, a...)) }
	if s.Version <= 0 {
		bad("version: a positive number")
	}
	if len(s.Administrations.All()) == 0 {
		bad("the register of administrations is empty")
	}
	purposes := map[string]Purpose{}
	for _, p := range s.Purposes {
		if !purposeID.MatchString(p.ID) {
			bad("purpose %q: id of lower-case letters, digits and -, 2 to 64", p.ID)
		}
		if _, dup := purposes[p.ID]; dup {
			bad("purpose %s: listed twice", p.ID)
		}
		purposes[p.ID] = p
		if strings.TrimSpace(p.Finalidad) == "" {
			bad("purpose %s: finalidad is required", p.ID)
		}
		if !codeLike.MatchString(p.Procedure) {
			bad("purpose %s: procedure: a code of letters, digits, _, . and -", p.ID)
		}
		if strings.TrimSpace(p.AutomatedAction) == "" {
			bad("purpose %s: automated_action: the automated action that makes its requests is required", p.ID)
		}
		switch p.Kind() {
		case "":
			bad("purpose %s: legal_basis: gdpr-6-1-a (consent), law:<reference> or noopo:<reference>", p.ID)
		case BasisLaw, BasisNoOpo:
			for _, l := range Languages {
				if strings.TrimSpace(p.Law[l]) == "" {
					bad("purpose %s: a %s basis cites its law in %s (law)", p.ID, p.Kind(), l)
				}
			}
			if d, err := time.ParseDuration(p.Retention); err != nil || d <= 0 {
				bad("purpose %s: a %s basis says how long its facts are kept (retention, e.g. 720h)", p.ID, p.Kind())
			}
		}
	}
	for _, p := range s.Purposes {
		if p.Reuses == "" {
			continue
		}
		if p.Reuses == p.ID {
			bad("purpose %s: reuses itself", p.ID)
		} else if _, ok := purposes[p.Reuses]; !ok {
			bad("purpose %s: reuses %q, which is not a purpose", p.ID, p.Reuses)
		}
	}
	cats := map[string]bool{}
	for _, c := range s.Categories {
		ps = append(ps, c.problems(purposes)...)
		if cats[c.ID] {
			bad("category %s: listed twice", c.ID)
		}
		cats[c.ID] = true
	}
	if len(s.Archetypes) == 0 {
		bad("archetypes: at least one")
	}
	for i, a := range s.Archetypes {
		if !purposeID.MatchString(a) {
			bad("archetype %q: lower-case letters, digits and -, 2 to 64", a)
		}
		if slices.Contains(s.Archetypes[:i], a) {
			bad("archetype %s: listed twice", a)
		}
	}
	if len(ps) > 0 {
		return fmt.Errorf("catalogue: seed: %s", strings.Join(ps, "; "))
	}
	return nil
}

// problems lists what is wrong with one category, given the purposes.
func (c Category) problems(purposes map[string]Purpose) []string {
	var ps []string
	bad := func(format string, a ...any) {
		ps = append(ps, fmt.Sprintf("category %s: ", c.ID)+fmt.Sprintf(format, a...))
	}
	if !purposeID.MatchString(c.ID) {
		bad("id of lower-case letters, digits and -, 2 to 64")
	}
	if !purposeID.MatchString(c.Source) {
		bad("source %q: an administration code of lower-case letters, digits and -", c.Source)
	}
	if !codeLike.MatchString(c.Service) {
		bad("service %q: an SCSP code of letters, digits, _, . and -", c.Service)
	}
	if len(c.Fields) == 0 {
		bad("fields: at least one")
	}
	for i, f := range c.Fields {
		if !fieldName.MatchString(f) {
			bad("field %q: lower-case letters, digits and _", f)
		}
		if slices.Contains(c.Fields[:i], f) {
			bad("field %s: listed twice", f)
		}
	}
	if len(c.Purposes) == 0 {
		bad("purposes: at least one")
	}
	for _, pid := range slices.Sorted(maps.Keys(c.Purposes)) {
		u := c.Purposes[pid]
		p, ok := purposes[pid]
		if !ok {
			bad("purpose %q is not a purpose", pid)
			continue
		}
		if !slices.Contains(LevelsOfAssurance, u.MinLoA) {
			bad("purpose %s: min_loa %q is not one of %s", pid, u.MinLoA, strings.Join(LevelsOfAssurance, ", "))
		}
		if len(u.Fields) == 0 {
			bad("purpose %s: fields: at least one", pid)
		}
		for i, f := range u.Fields {
			if !slices.Contains(c.Fields, f) {
				bad("purpose %s: field %s is not one of the category's", pid, f)
			}
			if slices.Contains(u.Fields[:i], f) {
				bad("purpose %s: field %s listed twice", pid, f)
			}
		}
		// A purpose that reuses another's facts can read only what was
		// fetched under that one.
		if p.Reuses == "" {
			continue
		}
		if r, ok := c.Purposes[p.Reuses]; !ok {
			bad("purpose %s reuses %s's facts, but the category does not serve %s", pid, p.Reuses, p.Reuses)
		} else if extra := minus(u.Fields, r.Fields); len(extra) > 0 {
			bad("purpose %s reuses %s's facts, which do not include %s", pid, p.Reuses, strings.Join(extra, ", "))
		}
	}
	return ps
}

// minus lists the elements of a not in b, in a's order.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
