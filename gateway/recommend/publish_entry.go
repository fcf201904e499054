package recommend

import (
	"fmt"

	"github.com/obert-gov/obert/catalogue"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Bounds of a publication. Its texts become headings and paragraphs on
// every citizen's page, and its rule is compiled into every recommendation.
const (
	maxRule        = 32 << 10 // bytes
	maxTests       = 32 << 10 // bytes
	maxCriteria    = 50
	maxCategories  = 10
	maxName        = 200 // characters: administration, title
	maxSummary     = 2000
	maxLegal       = 500
	maxCriterion   = 500
	maxApplyURL    = 2048
	maxSteps       = 10 // steps, and documents
	maxStep        = 500
	languagesNamed = "ca, es and en"
)

var (
	languages = []string{"ca", "es", "en"}
	levels    = []string{"state", "generalitat", "county", "city"}
	critName  = regexp.MustCompile(`^[a-z][a-z0-9-]{1,63}$`)
)

// checkEntry lists the problems of a publication's entry and sizes, which
// need nothing compiled.
func checkEntry(p Publication, known []string) []string {
	var ps []string
	bad := func(format string, a ...any) { ps = append(ps, fmt.Sprintf(format, a...)) }
	a := p.Aid
	if len(p.Rule) > maxRule {
		bad("rule: at most 32 KiB (is %d bytes)", len(p.Rule))
	}
	if len(p.Tests) > maxTests {
		bad("tests: at most 32 KiB (is %d bytes)", len(p.Tests))
	}
	if !aidID.MatchString(a.ID) {
		bad("aid.id: lower-case letters, digits and _, 2 to 64")
	} else if reserved(a.ID) {
		bad("aid.id: %q is reserved (lib and recommend are the shared modules, a name ending in _test is an aid's tests)", a.ID)
	}
	if !slices.Contains(levels, a.Level) {
		bad("aid.level: one of %s", strings.Join(levels, ", "))
	}
	for _, f := range []struct {
		name string
		m    map[string]string
		max  int
	}{{"administration", a.Administration, maxName}, {"title", a.Title, maxName}, {"summary", a.Summary, maxSummary}} {
		ps = append(ps, texts("aid."+f.name, f.m, f.max)...)
	}
	if strings.TrimSpace(a.LegalReference) == "" {
		bad("aid.legal_reference is required")
	}
	ps = append(ps, text("aid.legal_reference", a.LegalReference, maxLegal)...)
	if u, err := url.Parse(a.ApplyURL); err != nil || u.Scheme != "https" || u.Host == "" {
		bad("aid.apply_url: an https:// address")
	}
	ps = append(ps, text("aid.apply_url", a.ApplyURL, maxApplyURL)...)
	from, err1 := time.Parse(time.DateOnly, a.ValidFrom)
	until, err2 := time.Parse(time.DateOnly, a.ValidUntil)
	if err1 != nil || (a.ValidUntil != "" && (err2 != nil || until.Before(from))) {
		bad("aid.valid_from / valid_until: dates YYYY-MM-DD, the end after the start")
	}
	ps = append(ps, checkHowTo(a)...)
	switch n := len(a.Categories); {
	case n == 0:
		bad("aid.categories: at least one")
	case n > maxCategories:
		bad("aid.categories: at most %d (are %d)", maxCategories, n)
	}
	for i, c := range a.Categories {
		if !slices.Contains(known, c) {
			bad("aid.categories: %q is not a category any connector serves (%s)", c, strings.Join(known, ", "))
		} else if slices.Contains(a.Categories[:i], c) {
			bad("aid.categories: %q twice", c)
		}
	}
	for _, k := range a.Archetypes {
		if !slices.Contains(Archetypes, k) {
			bad("aid.archetypes: %q is not one of %s", k, strings.Join(Archetypes, ", "))
		}
	}
	switch n := len(a.Criteria); {
	case n == 0:
		bad("aid.criteria: at least one")
	case n > maxCriteria:
		bad("aid.criteria: at most %d (are %d)", maxCriteria, n)
		return ps
	}
	for i, c := range a.Criteria {
		if !critName.MatchString(c.Name) {
			bad("aid.criteria: name %q: lower-case letters, digits and -", c.Name)
		} else if slices.ContainsFunc(a.Criteria[:i], func(d CriterionSpec) bool { return d.Name == c.Name }) {
			bad("aid.criteria: %q twice", c.Name)
		}
		if !slices.Contains(a.Categories, c.Category) {
			bad("aid.criteria.%s: category %q is not declared", c.Name, c.Category)
		}
		ps = append(ps, texts("aid.criteria."+c.Name+".text", c.Text, maxCriterion)...)
	}
	return ps
}

var (
	countyCode       = regexp.MustCompile(`^[0-9]{2}$`)
	municipalityCode = regexp.MustCompile(`^[0-9]{5}$`)
	// ObertDocuments are the documents Obert issues, which aids may ask for.
	ObertDocuments = []string{"census-certificate", "residence-certificate", "tax-certificate", "working-life-report"}
)

// checkHowTo checks an aid's area and how to claim it.
func checkHowTo(a Aid) []string {
	var ps []string
	bad := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }
	if x := a.Area; x != nil {
		switch {
		case a.Level == "county" && (!countyCode.MatchString(x.County) || x.Municipality != ""):
			bad("aid.area: a county's aid names its county, {\"county\": \"NN\"} (IDESCAT's comarca code)")
		case a.Level == "city" && (!municipalityCode.MatchString(x.Municipality) || x.County != ""):
			bad("aid.area: a city's aid names its municipality, {\"municipality\": \"NNNNN\"} (INE's code)")
		case a.Level != "county" && a.Level != "city":
			bad("aid.area: only county and city aids have an area")
		}
	}
	if len(a.Steps) > maxSteps {
		bad("aid.steps: at most %d (are %d)", maxSteps, len(a.Steps))
	}
	for i, st := range a.Steps {
		ps = append(ps, texts(fmt.Sprintf("aid.steps[%d]", i), st, maxStep)...)
	}
	if len(a.Documents) > maxSteps {
		bad("aid.documents: at most %d (are %d)", maxSteps, len(a.Documents))
	}
	for i, d := range a.Documents {
		switch {
		case (d.Obert == "") == (d.Text == nil):
			bad("aid.documents[%d]: either a text or one of Obert's documents (%s)", i, strings.Join(ObertDocuments, ", "))
		case d.Obert != "" && !slices.Contains(ObertDocuments, d.Obert):
			bad("aid.documents[%d]: %q is not one of Obert's documents (%s)", i, d.Obert, strings.Join(ObertDocuments, ", "))
		case d.Text != nil:
			ps = append(ps, texts(fmt.Sprintf("aid.documents[%d].text", i), d.Text, maxStep)...)
		}
	}
	if a.Deadline != "" {
		if _, err := time.Parse(time.DateOnly, a.Deadline); err != nil {
			bad("aid.deadline: a date YYYY-MM-DD")
		}
	}
	if a.InPerson != nil {
		ps = append(ps, texts("aid.in_person", a.InPerson, maxStep)...)
	}
	events := catalogue.LifeEventIDs()
	for _, e := range a.LifeEvents {
		if !slices.Contains(events, e) {
			bad("aid.life_events: %q is not one of %s", e, strings.Join(events, ", "))
		}
	}
	return ps
}

// texts checks a text in each language: all present, no other language,
// each within max characters and printable.
func texts(field string, m map[string]string, max int) []string {
	var ps []string
	for l := range m {
		if !slices.Contains(languages, l) {
			ps = append(ps, fmt.Sprintf("%s: only %s (not %q)", field, languagesNamed, l))
			break
		}
	}
	for _, l := range languages {
		if strings.TrimSpace(m[l]) == "" {
			ps = append(ps, fmt.Sprintf("%s.%s is required", field, l))
		}
		ps = append(ps, text(field+"."+l, m[l], max)...)
	}
	return ps
}

// text checks one text: at most max characters, valid UTF-8, and no
// control or bidirectional-override characters, which would reshape the
// page it is shown on.
func text(field, s string, max int) []string {
	var ps []string
	if n := utf8.RuneCountInString(s); n > max {
		ps = append(ps, fmt.Sprintf("%s: at most %d characters (is %d)", field, max, n))
	}
	if !utf8.ValidString(s) {
		ps = append(ps, field+": not valid UTF-8")
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
	}); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		ps = append(ps, fmt.Sprintf("%s: a control character (%U)", field, r))
	}
	return ps
}
