package gateway

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/obert-gov/obert/catalogue"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/web"
	"github.com/obert-gov/obert/policy"
)

// builtinServices are the SCSP services written as code, by category.
var builtinServices = map[connectors.Category]scsp.Service{
	connectors.Census: scsp.Census, connectors.Tax: scsp.Tax, connectors.Employment: scsp.Employment,
	connectors.Representation: scsp.Representation, connectors.Company: scsp.Company,
}

// checkCatalogue reads the shipped catalogue and checks that every part
// holding a copy of its facts says the same, so that a category, purpose or
// archetype added in one place and forgotten in another stops the start
// with a message naming what was forgotten.
func checkCatalogue() (catalogue.Snapshot, error) {
	snap, err := catalogue.Seed()
	if err != nil {
		return catalogue.Snapshot{}, err
	}
	parts, err := shippedParts(snap)
	if err != nil {
		return catalogue.Snapshot{}, err
	}
	if err := catalogue.Agree(snap, parts); err != nil {
		return catalogue.Snapshot{}, err
	}
	return snap, nil
}

// shippedParts collects what the other packages hold. Lists are copied, so
// that what the caller does with them never reaches the packages.
func shippedParts(snap catalogue.Snapshot) (catalogue.Parts, error) {
	p := catalogue.Parts{
		Services:              map[string]catalogue.ServicePart{},
		Guard:                 map[string]map[string]catalogue.Use{},
		Exchange:              map[string]catalogue.ExchangePurpose{},
		LegalBases:            []string{consent.BasisConsent},
		Translations:          map[string][]string{},
		SimArchetypes:         slices.Clone(sim.Archetypes),
		RecommenderArchetypes: slices.Clone(recommend.Archetypes),
	}
	for cat, svc := range builtinServices {
		p.Services[string(cat)] = catalogue.ServicePart{Code: svc.Code, Fields: svc.Released(cat)}
	}
	offers, err := consent.DefaultOffers()
	if err != nil {
		return catalogue.Parts{}, err
	}
	for _, o := range offers {
		p.Offers = append(p.Offers, catalogue.OfferPart{Category: o.Category, Purpose: o.Purpose, Source: o.Source,
			Fields: slices.Clone(o.Fields), Languages: slices.Sorted(maps.Keys(o.Texts))})
	}
	if p.Guard, err = guardParts(); err != nil {
		return catalogue.Parts{}, err
	}
	if p.Laws, err = guardLaws(); err != nil {
		return catalogue.Parts{}, err
	}
	for id, e := range purposesOf(snap) {
		p.Exchange[id] = catalogue.ExchangePurpose{Finalidad: e.Finalidad, Procedure: e.Procedure, Reuses: e.Reuses}
	}
	// The web catalogue cannot list its keys; it is asked for each one the
	// snapshot needs (an unknown key translates to itself).
	msgs, err := web.LoadCatalogue()
	if err != nil {
		return catalogue.Parts{}, err
	}
	for _, l := range web.Languages {
		for _, k := range snap.TranslationKeys() {
			if msgs.T(l, k) != k {
				p.Translations[l] = append(p.Translations[l], k)
			}
		}
	}
	b, err := policy.AidCatalogue()
	if err != nil {
		return catalogue.Parts{}, err
	}
	var aids []recommend.Aid
	if err := json.Unmarshal(b, &aids); err != nil {
		return catalogue.Parts{}, fmt.Errorf("gateway: the shipped aids: %w", err)
	}
	for _, a := range aids {
		p.Aids = append(p.Aids, catalogue.AidPart{ID: a.ID, Level: a.Level, Administration: maps.Clone(a.Administration),
			Categories: slices.Clone(a.Categories), Archetypes: slices.Clone(a.Archetypes)})
	}
	return p, nil
}

// guardLaws reads the guard's laws.
func guardLaws() ([]catalogue.LawPart, error) {
	d, err := policy.Data()
	if err != nil {
		return nil, err
	}
	ob, _ := d["obert"].(map[string]any)
	laws, _ := ob["laws"].([]any)
	var out []catalogue.LawPart
	for _, lv := range laws {
		l, _ := lv.(map[string]any)
		id, _ := l["id"].(string)
		kind, _ := l["kind"].(string)
		purposes, err := names(l["purposes"])
		if err != nil {
			return nil, fmt.Errorf("gateway: guard law %s: %w", id, err)
		}
		cats, err := names(l["categories"])
		if err != nil {
			return nil, fmt.Errorf("gateway: guard law %s: %w", id, err)
		}
		out = append(out, catalogue.LawPart{ID: id, Kind: kind, Purposes: purposes, Categories: cats})
	}
	return out, nil
}

// guardParts reads the guard's data: purpose → category → rule.
func guardParts() (map[string]map[string]catalogue.Use, error) {
	d, err := policy.Data()
	if err != nil {
		return nil, err
	}
	ob, _ := d["obert"].(map[string]any)
	purposes, _ := ob["purposes"].(map[string]any)
	out := map[string]map[string]catalogue.Use{}
	for pid, pv := range purposes {
		pm, _ := pv.(map[string]any)
		cats, _ := pm["categories"].(map[string]any)
		out[pid] = map[string]catalogue.Use{}
		for cid, cv := range cats {
			rule, _ := cv.(map[string]any)
			loa, _ := rule["min_loa"].(string)
			fields, err := names(rule["fields"])
			if err != nil {
				return nil, fmt.Errorf("gateway: the guard's data: purpose %s, category %s: %w", pid, cid, err)
			}
			out[pid][cid] = catalogue.Use{MinLoA: loa, Fields: fields}
		}
	}
	return out, nil
}

// names reads a list of field names, which the guard's data holds as a set.
func names(v any) ([]string, error) {
	var terms []*ast.Term
	switch v := v.(type) {
	case ast.Set:
		terms = v.Slice()
	case []any:
		var out []string
		for _, n := range v {
			s, ok := n.(string)
			if !ok {
				return nil, fmt.Errorf("a field name is not a string: %v", n)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("fields are not a list of names")
	}
	out := make([]string, 0, len(terms))
	for _, t := range terms {
		s, ok := t.Value.(ast.String)
		if !ok {
			return nil, fmt.Errorf("a field name is not a string: %v", t)
		}
		out = append(out, string(s))
	}
	slices.Sort(out)
	return out, nil
}
