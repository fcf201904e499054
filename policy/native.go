package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Native decisions.
//
// guard.rego stays the source of truth: it is compiled by OPA at start, its
// Rego tests run in make test, and OPA decides whenever the native program
// below does not apply. The program is guard.rego written out in Go over
// one version of the policy's data, which it reads from the very store OPA
// evaluates on, after every change. A decision then costs a few map lookups
// and one slice, where OPA's evaluator allocated 7.6 KB: the collections
// those bytes caused were the slowest decisions' time.
//
// Three things keep the two the same:
//   - The program applies only to the modules it was written for: their
//     hash is nativeModules, and a guard built with any other modules (or a
//     changed guard.rego) decides with OPA. TestNativeFollowsThePolicy
//     fails when guard.rego changes, until this file has been checked
//     against it and the hash brought up to date.
//   - It applies only to data of the shape it models (purposes with
//     categories of a level and a set of field names; laws with an id, a
//     kind and lists of names; levels that meet a minimum as booleans).
//     Data of any other shape is decided by OPA.
//   - TestNativeEqualsOPA and FuzzNativeGuard decide the same inputs both
//     ways, over the shipped data and data changed at runtime, and require
//     the same allow, reasons and fields.

// nativeModules is the SHA-256 of the guard's modules (names and sources,
// by name; see modulesSum) that guardProgram is written for.
const nativeModules = "3075a42db2687b3dc198daf86b514cfd1a1447b71799b4300d673e01ca467071"

// guardModules is the names of the modules the guard compiles (not the
// tests), in order.
func guardModules(mods map[string]string) []string {
	names := make([]string, 0, len(mods))
	for n := range mods {
		if !strings.HasSuffix(n, "_test.rego") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// writeModules writes the modules names to h, each name and source: the
// start of the policy's version, and, hashed alone, what nativeModules
// pins (see modulesSum).
func writeModules(h hash.Hash, names []string, mods map[string]string) {
	for _, n := range names {
		h.Write([]byte(n + "\x00" + mods[n] + "\x00"))
	}
}

// modulesSum is the SHA-256 of the guard's modules among mods, as
// nativeModules pins it.
func modulesSum(mods map[string]string) string {
	h := sha256.New()
	writeModules(h, guardModules(mods), mods)
	return hex.EncodeToString(h.Sum(nil))
}

// guardProgram is guard.rego over one version of data.obert.
type guardProgram struct {
	purposes map[string]map[string]categoryRule // purpose → category → its rules
	meets    map[string]map[string]bool         // minimum → level → meets it
	laws     []lawRule
}

// categoryRule is data.obert.purposes[p].categories[c].
type categoryRule struct {
	minLoA string
	fields map[string]struct{}
}

// lawRule is one of data.obert.laws.
type lawRule struct {
	id, kind                        string
	requesters, categories, purpose []string
}

// compileProgram reads data.obert (the store's value at /obert) into a
// program; ok is false when any of it is of a shape the program does not
// model, and OPA then decides.
func compileProgram(v ast.Value) (p *guardProgram, ok bool) {
	ob, ok := v.(ast.Object)
	if !ok {
		return nil, false
	}
	p = &guardProgram{purposes: map[string]map[string]categoryRule{}, meets: map[string]map[string]bool{}}
	purposes, ok := objectAt(ob, "purposes")
	if !ok {
		return nil, false
	}
	err := purposes.Iter(func(k, pv *ast.Term) error {
		name, ok := k.Value.(ast.String)
		purpose, ok2 := pv.Value.(ast.Object)
		if !ok || !ok2 {
			return errShape
		}
		cats := map[string]categoryRule{}
		p.purposes[string(name)] = cats
		if purpose.Get(ast.StringTerm("categories")) == nil {
			return nil // known, and allows nothing
		}
		co, ok := objectAt(purpose, "categories")
		if !ok {
			return errShape
		}
		return co.Iter(func(k, cv *ast.Term) error {
			cname, ok := k.Value.(ast.String)
			rule, ok2 := cv.Value.(ast.Object)
			if !ok || !ok2 {
				return errShape
			}
			min, ok := stringAt(rule, "min_loa")
			if !ok {
				return errShape
			}
			ft := rule.Get(ast.StringTerm("fields"))
			if ft == nil {
				return errShape
			}
			fs, ok := ft.Value.(ast.Set)
			if !ok {
				return errShape
			}
			fields := make(map[string]struct{}, fs.Len())
			for _, f := range fs.Slice() {
				s, ok := f.Value.(ast.String)
				if !ok {
					return errShape
				}
				fields[string(s)] = struct{}{}
			}
			cats[string(cname)] = categoryRule{minLoA: min, fields: fields}
			return nil
		})
	})
	if err != nil {
		return nil, false
	}
	meets, ok := objectAt(ob, "meets")
	if !ok {
		return nil, false
	}
	err = meets.Iter(func(k, mv *ast.Term) error {
		min, ok := k.Value.(ast.String)
		levels, ok2 := mv.Value.(ast.Object)
		if !ok || !ok2 {
			return errShape
		}
		m := map[string]bool{}
		p.meets[string(min)] = m
		return levels.Iter(func(k, bv *ast.Term) error {
			level, ok := k.Value.(ast.String)
			b, ok2 := bv.Value.(ast.Boolean)
			if !ok || !ok2 {
				return errShape
			}
			m[string(level)] = bool(b)
			return nil
		})
	})
	if err != nil {
		return nil, false
	}
	lt := ob.Get(ast.StringTerm("laws"))
	if lt == nil {
		return nil, false
	}
	laws, ok := lt.Value.(*ast.Array)
	if !ok {
		return nil, false
	}
	for i := range laws.Len() {
		l, ok := laws.Elem(i).Value.(ast.Object)
		if !ok {
			return nil, false
		}
		var r lawRule
		var ok1, ok2, ok3, ok4, ok5 bool
		r.id, ok1 = stringAt(l, "id")
		r.kind, ok2 = stringAt(l, "kind")
		r.requesters, ok3 = stringsAt(l, "requesters")
		r.categories, ok4 = stringsAt(l, "categories")
		r.purpose, ok5 = stringsAt(l, "purposes")
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
			return nil, false
		}
		p.laws = append(p.laws, r)
	}
	return p, true
}

type shapeError struct{}

func (shapeError) Error() string { return "policy: data of a shape the native program does not model" }

var errShape error = shapeError{}

// objectAt is o[key] as an object.
func objectAt(o ast.Object, key string) (ast.Object, bool) {
	t := o.Get(ast.StringTerm(key))
	if t == nil {
		return nil, false
	}
	v, ok := t.Value.(ast.Object)
	return v, ok
}

// stringAt is o[key] as a string.
func stringAt(o ast.Object, key string) (string, bool) {
	t := o.Get(ast.StringTerm(key))
	if t == nil {
		return "", false
	}
	s, ok := t.Value.(ast.String)
	return string(s), ok
}

// stringsAt is o[key] as an array of strings.
func stringsAt(o ast.Object, key string) ([]string, bool) {
	t := o.Get(ast.StringTerm(key))
	if t == nil {
		return nil, false
	}
	a, ok := t.Value.(*ast.Array)
	if !ok {
		return nil, false
	}
	out := make([]string, a.Len())
	for i := range a.Len() {
		s, ok := a.Elem(i).Value.(ast.String)
		if !ok {
			return nil, false
		}
		out[i] = string(s)
	}
	return out, true
}

// decide is data.obert.guard.decision for in: allow, the sorted reasons,
// and on an allow the sorted minimal field set.
func (p *guardProgram) decide(in *Input) (allow bool, reasons, fields []string) {
	// purpose_known, cat, loa_ok
	cats, purposeKnown := p.purposes[in.Purpose]
	cat, hasCat := cats[in.Category]
	loaOK := hasCat && p.meets[cat.minLoA][in.LoA]
	// fields: the requested fields the category allows (a set: no
	// repeats); none without the category, or without requested fields
	// (null, which OPA's intersection does not take).
	if hasCat {
		for _, f := range in.RequestedField {
			if _, ok := cat.fields[f]; ok {
				fields = append(fields, f)
			}
		}
		if len(fields) > 1 {
			slices.Sort(fields)
			fields = slices.Compact(fields)
		}
	}
	// The consent path.
	tooSoon, outside := in.tooSoon(), in.outsidePeriod()
	consentMatches := in.consentMatches() && !tooSoon && !outside
	if loaOK && consentMatches && len(fields) > 0 {
		return true, []string{"consent-active"}, fields
	}
	// The law path: law_applies, law_allows.
	applies, lawAllows, objected := false, false, false
	if in.LegalBasis != "" { // absent from the input when empty
		for i := range p.laws {
			l := &p.laws[i]
			if l.id != in.LegalBasis || !slices.Contains(l.requesters, in.Requester) ||
				!slices.Contains(l.categories, in.Category) || !slices.Contains(l.purpose, in.Purpose) {
				continue
			}
			applies = true
			switch {
			case l.kind == "law":
				lawAllows = true
			case l.kind == "noopo" && !in.Objected:
				lawAllows = true
			case l.kind == "noopo":
				objected = true
			}
		}
	}
	if loaOK && len(fields) > 0 && lawAllows {
		return true, []string{"legal-basis"}, fields
	}
	// A deny, with every reason.
	reasons = make([]string, 0, 2)
	consent := in.Consent != nil
	if !purposeKnown {
		reasons = append(reasons, "purpose-unknown")
	}
	if purposeKnown && !hasCat {
		reasons = append(reasons, "category-not-allowed-for-purpose")
	}
	if hasCat && !loaOK {
		reasons = append(reasons, "loa-too-low")
	}
	if !consent && !lawAllows && !applies {
		reasons = append(reasons, "no-consent")
	}
	if objected {
		reasons = append(reasons, "objected")
	}
	if consent && !consentMatches && !tooSoon && !outside && !lawAllows {
		reasons = append(reasons, "consent-withdrawn-or-expired")
	}
	if consent && outside && !lawAllows {
		reasons = append(reasons, "outside-period")
	}
	if consent && tooSoon && !lawAllows {
		reasons = append(reasons, "too-frequent")
	}
	if purposeKnown && len(fields) == 0 {
		reasons = append(reasons, "no-fields")
	}
	sort.Strings(reasons)
	return false, reasons, nil
}

// consentMatches is consent_matches without its last two conditions
// (too_soon, outside_period), which decide weighs apart.
func (in *Input) consentMatches() bool {
	c := in.Consent
	return c != nil && c.Active && c.Category == in.Category && c.Purpose == in.Purpose && c.Requester == in.Requester &&
		c.LegalBasis == "gdpr-6-1-a" && c.Source == in.Source && c.ExpiresAt > in.Now
}

// tooSoon is too_soon: the consent limits how often the source may be
// asked, it was asked before (last_fetch is absent when 0), and now is
// sooner than that. Rego's numbers do not overflow; now − last_fetch past
// int64's range is far past any interval one way or the other.
func (in *Input) tooSoon() bool {
	c := in.Consent
	if c == nil || c.MinInterval <= 0 || in.LastFetch == 0 {
		return false
	}
	d := in.Now - in.LastFetch
	if (in.Now >= 0) != (in.LastFetch >= 0) && (d >= 0) != (in.Now >= 0) {
		return in.Now < 0 // overflowed: below int64's least, or above its most
	}
	return d < c.MinInterval
}

// outsidePeriod is outside_period: the consent bounds the periods, and the
// one asked about (absent when 0) is not within the bounds.
func (in *Input) outsidePeriod() bool {
	c := in.Consent
	if c == nil {
		return false
	}
	asked := in.Period != 0
	return c.FromYear > 0 && !(asked && in.Period >= c.FromYear) || c.ToYear > 0 && !(asked && in.Period <= c.ToYear)
}
