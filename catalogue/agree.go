package catalogue

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Parts are the copies of the catalogue's facts that other parts of Obert
// hold, as plain data: the gateway collects them at start, and Agree checks
// each against the snapshot. A nil map or slice is a part that holds
// nothing, and is reported as such.
type Parts struct {
	// Services are the built-in SCSP services, by category.
	Services map[string]ServicePart
	// Offers are the consent offers shipped.
	Offers []OfferPart
	// Guard is the guard's data: purpose → category → how it may be used.
	Guard map[string]map[string]Use
	// Exchange is how each purpose travels in SCSP, by purpose.
	Exchange map[string]ExchangePurpose
	// LegalBases are the legal bases consent records know.
	LegalBases []string
	// Laws are the guard's laws: the purposes and categories each allows
	// without consent.
	Laws []LawPart
	// Translations are, by language, the message keys present.
	Translations map[string][]string
	// The archetypes of the simulator's population and the recommender's.
	SimArchetypes, RecommenderArchetypes []string
	// Aids are the shipped aids.
	Aids []AidPart
}

// ServicePart is a built-in SCSP service.
type ServicePart struct {
	Code   string
	Fields []string
}

// OfferPart is a consent offer.
type OfferPart struct {
	Category, Purpose, Source string
	Fields                    []string
	Languages                 []string // those its texts are given in
}

// LawPart is one of the guard's laws.
type LawPart struct {
	ID, Kind             string // the legal basis; "law" or "noopo"
	Purposes, Categories []string
}

// ExchangePurpose is how a purpose travels in SCSP.
type ExchangePurpose struct {
	Finalidad, Procedure, Reuses string
}

// AidPart is a shipped aid.
type AidPart struct {
	ID             string
	Level          string
	Administration map[string]string // name by language
	Categories     []string
	Archetypes     []string
}

// DisagreementError lists every way the parts disagree with the catalogue,
// each naming what it is about and which parts disagree.
type DisagreementError struct{ Problems []string }

// Error lists the problems one a line, since there are often several.
func (e *DisagreementError) Error() string {
	return "catalogue: the parts disagree:\n\t" + strings.Join(e.Problems, "\n\t")
}

// The parts as messages name them.
const (
	inCatalogue   = "the catalogue"
	inService     = "the SCSP service"
	inOffers      = "the consent offers"
	inGuard       = "the guard's data"
	inExchange    = "the exchange's purposes"
	inSim         = "the simulator"
	inRecommender = "the recommender"
)

// Agree checks that every part says what the snapshot says, and returns a
// *DisagreementError naming each disagreement, or nil.
func Agree(s Snapshot, p Parts) error {
	var ps []string
	bad := func(format string, a ...any) { ps = append(ps, fmt.Sprintf(format, a...)) }

	// Categories: the SCSP services, the offers and the guard.
	for _, c := range s.Categories {
		sv, ok := p.Services[c.ID]
		if !ok {
			bad("category %s: no SCSP service %s for it", c.ID, c.Service)
		} else {
			if sv.Code != c.Service {
				bad("category %s: the service code differs between %s (%s) and %s (%s)", c.ID, inCatalogue, c.Service, inService, sv.Code)
			}
			if d := differ(c.Fields, inCatalogue, sv.Fields, inService); d != "" {
				bad("category %s: fields differ between %s", c.ID, d)
			}
		}
		for _, pid := range slices.Sorted(maps.Keys(c.Purposes)) {
			u := c.Purposes[pid]
			rule, ok := p.Guard[pid][c.ID]
			if !ok {
				bad("category %s, purpose %s: not in %s", c.ID, pid, inGuard)
			} else {
				if rule.MinLoA != u.MinLoA {
					bad("category %s, purpose %s: the minimum level of assurance differs between %s (%s) and %s (%s)",
						c.ID, pid, inCatalogue, u.MinLoA, inGuard, rule.MinLoA)
				}
				if d := differ(u.Fields, inCatalogue, rule.Fields, inGuard); d != "" {
					bad("category %s, purpose %s: fields differ between %s", c.ID, pid, d)
				}
			}
			offers := slices.DeleteFunc(slices.Clone(p.Offers), func(o OfferPart) bool { return o.Category != c.ID || o.Purpose != pid })
			pu, _ := s.Purpose(pid)
			if pu.Kind() != BasisConsent {
				// Not on consent: nobody is asked, the guard's law allows it.
				if len(offers) > 0 {
					bad("category %s, purpose %s: a consent offer, but the purpose runs on %s", c.ID, pid, pu.LegalBasis)
				}
				if !slices.ContainsFunc(p.Laws, func(l LawPart) bool {
					return l.ID == pu.LegalBasis && l.Kind == pu.Kind() && slices.Contains(l.Purposes, pid) && slices.Contains(l.Categories, c.ID)
				}) {
					bad("category %s, purpose %s: no %s law %s for it in %s", c.ID, pid, pu.Kind(), pu.LegalBasis, inGuard)
				}
				continue
			}
			switch {
			case len(offers) == 0:
				bad("category %s, purpose %s: no consent offer", c.ID, pid)
			case len(offers) > 1:
				bad("category %s, purpose %s: %d consent offers, where one is expected", c.ID, pid, len(offers))
			default:
				o := offers[0]
				if o.Source != c.Source {
					bad("category %s, purpose %s: the source differs between %s (%s) and %s (%s)", c.ID, pid, inCatalogue, c.Source, inOffers, o.Source)
				}
				if d := differ(u.Fields, inCatalogue, o.Fields, inOffers); d != "" {
					bad("category %s, purpose %s: fields differ between %s", c.ID, pid, d)
				}
				for _, l := range Languages {
					if !slices.Contains(o.Languages, l) {
						bad("category %s, purpose %s: the consent offer has no text in %s", c.ID, pid, l)
					}
				}
			}
		}
	}
	for _, cid := range slices.Sorted(maps.Keys(p.Services)) {
		if _, ok := s.Category(cid); !ok {
			bad("category %s: %s %s serves it, but it is not in %s", cid, inService, p.Services[cid].Code, inCatalogue)
		}
	}
	for _, o := range p.Offers {
		c, ok := s.Category(o.Category)
		if _, served := c.Purposes[o.Purpose]; !ok || !served {
			bad("category %s, purpose %s: a consent offer, but not in %s", o.Category, o.Purpose, inCatalogue)
		}
	}
	for _, pid := range slices.Sorted(maps.Keys(p.Guard)) {
		if _, ok := s.Purpose(pid); !ok {
			bad("purpose %s: in %s, but not in %s", pid, inGuard, inCatalogue)
			continue
		}
		for _, cid := range slices.Sorted(maps.Keys(p.Guard[pid])) {
			c, ok := s.Category(cid)
			if _, served := c.Purposes[pid]; !ok || !served {
				bad("category %s, purpose %s: in %s, but not in %s", cid, pid, inGuard, inCatalogue)
			}
		}
	}

	// Purposes: how they travel, and on what legal basis.
	for _, pu := range s.Purposes {
		e, ok := p.Exchange[pu.ID]
		if !ok {
			bad("purpose %s: not in %s", pu.ID, inExchange)
		} else {
			for _, f := range []struct{ name, cat, ex string }{
				{"finalidad", pu.Finalidad, e.Finalidad}, {"procedure", pu.Procedure, e.Procedure}, {"reuses", pu.Reuses, e.Reuses},
			} {
				if f.cat != f.ex {
					bad("purpose %s: %s differs between %s (%q) and %s (%q)", pu.ID, f.name, inCatalogue, f.cat, inExchange, f.ex)
				}
			}
		}
		if pu.Kind() == BasisConsent && !slices.Contains(p.LegalBases, pu.LegalBasis) {
			bad("purpose %s: legal basis %q is not one consent records (%s)", pu.ID, pu.LegalBasis, strings.Join(p.LegalBases, ", "))
		}
	}
	for _, pid := range slices.Sorted(maps.Keys(p.Exchange)) {
		if _, ok := s.Purpose(pid); !ok {
			bad("purpose %s: in %s, but not in %s", pid, inExchange, inCatalogue)
		}
	}

	// Translations.
	for _, l := range Languages {
		if len(p.Translations[l]) == 0 {
			bad("translations: none in %s", l)
			continue
		}
		have := map[string]bool{}
		for _, k := range p.Translations[l] {
			have[k] = true
		}
		for _, t := range s.translations() {
			if !have[t.key] {
				bad("%s: no translation %s in %s", t.about, t.key, l)
			}
		}
	}

	// Archetypes.
	for _, a := range []struct {
		part string
		list []string
	}{{inSim, p.SimArchetypes}, {inRecommender, p.RecommenderArchetypes}} {
		if d := differ(s.Archetypes, inCatalogue, a.list, a.part); d != "" {
			bad("archetypes differ between %s", d)
		}
	}

	// The shipped aids: their administrations, levels, data and profiles.
	for _, a := range p.Aids {
		ps = append(ps, s.aidProblems(a)...)
	}

	if len(ps) > 0 {
		return &DisagreementError{Problems: ps}
	}
	return nil
}

// aidProblems lists how a shipped aid disagrees with the snapshot: its
// administration must be one entry of the register, by its name in every
// language, that may publish at the aid's level.
func (s Snapshot) aidProblems(a AidPart) []string {
	var ps []string
	bad := func(format string, args ...any) {
		ps = append(ps, fmt.Sprintf("aid %s: ", a.ID)+fmt.Sprintf(format, args...))
	}
	if !slices.Contains(Levels, a.Level) {
		bad("level %q is not one of %s", a.Level, strings.Join(Levels, ", "))
	}
	var found []Administration
	for _, l := range Languages {
		adm, ok := s.Administrations.ByName(l, a.Administration[l])
		if !ok {
			bad("administration %q (%s) is not in the register", a.Administration[l], l)
			continue
		}
		if !slices.ContainsFunc(found, func(f Administration) bool { return f.ID == adm.ID }) {
			found = append(found, adm)
		}
	}
	switch {
	case len(found) > 1:
		ids := make([]string, len(found))
		for i, f := range found {
			ids[i] = f.ID
		}
		bad("its administration's names are those of different entries of the register (%s)", strings.Join(ids, ", "))
	case len(found) == 1 && slices.Contains(Levels, a.Level) && !found[0].May(a.Level):
		bad("administration %s may not publish at level %s (only %s)", found[0].ID, a.Level, strings.Join(found[0].Levels, ", "))
	}
	for _, c := range a.Categories {
		if _, ok := s.Category(c); !ok {
			bad("category %q is not a built-in category", c)
		}
	}
	for _, k := range a.Archetypes {
		if !slices.Contains(s.Archetypes, k) {
			bad("archetype %q is not one of %s", k, strings.Join(s.Archetypes, ", "))
		}
	}
	return ps
}

// translation is a message key the snapshot needs, and what it names.
type translation struct{ about, key string }

func (s Snapshot) translations() []translation {
	var ts []translation
	for _, p := range s.Purposes {
		ts = append(ts, translation{"purpose " + p.ID, "purpose." + p.ID})
	}
	for _, c := range s.Categories {
		ts = append(ts, translation{"category " + c.ID, "category." + c.ID}, translation{"category " + c.ID, "org." + c.Source})
		for _, f := range c.Fields {
			ts = append(ts, translation{"category " + c.ID, "field." + f})
		}
	}
	for _, a := range s.Archetypes {
		ts = append(ts, translation{"archetype " + a, "archetype." + a + ".title"},
			translation{"archetype " + a, "archetype." + a + ".text"})
	}
	for _, l := range Levels {
		ts = append(ts, translation{"level " + l, "aids.level." + l})
	}
	return ts
}

// TranslationKeys lists the message keys the snapshot needs in every
// language: its purposes, categories (their fields and source), archetypes
// and levels.
func (s Snapshot) TranslationKeys() []string {
	var ks []string
	for _, t := range s.translations() {
		ks = append(ks, t.key)
	}
	return ks
}

// differ compares two lists as sets and says how they differ, naming
// each; "" when they hold the same.
func differ(a []string, aName string, b []string, bName string) string {
	onlyA, onlyB := minus(a, b), minus(b, a)
	if len(onlyA) == 0 && len(onlyB) == 0 {
		return ""
	}
	d := fmt.Sprintf("%s (%s) and %s (%s)", aName, strings.Join(a, ", "), bName, strings.Join(b, ", "))
	if len(onlyA) > 0 {
		d += fmt.Sprintf(": only in %s: %s", aName, strings.Join(onlyA, ", "))
	}
	if len(onlyB) > 0 {
		if len(onlyA) > 0 {
			d += ";"
		} else {
			d += ":"
		}
		d += fmt.Sprintf(" only in %s: %s", bName, strings.Join(onlyB, ", "))
	}
	return d
}
