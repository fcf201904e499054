package policy

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestNativeFollowsThePolicy: the native program is written for the
// shipped guard.rego, decides with the shipped data and after every kind
// of change at runtime, and steps aside for other modules and for data of
// a shape it does not model.
func TestNativeFollowsThePolicy(t *testing.T) {
	ctx := context.Background()
	mods, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	if got := modulesSum(mods); got != nativeModules {
		t.Fatalf("the guard's modules changed (%s). Bring guardProgram.decide (native.go) in line with them, "+
			"run TestNativeEqualsOPA and FuzzNativeGuard, then set nativeModules to %q", strings.Join(guardModules(mods), ", "), got)
	}
	g, err := NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	native := func(when string) {
		t.Helper()
		if g.state.Load().program == nil {
			t.Fatalf("%s: OPA decides, not the native program", when)
		}
	}
	native("shipped")
	for _, change := range []struct {
		name string
		do   func() error
	}{
		{"a category allowed", func() error {
			return g.AllowCategory(ctx, "aid-recommendation", "disability", "high", []string{"degree"})
		}},
		{"a category removed", func() error { return g.RemoveCategory(ctx, "aid-recommendation", "tax") }},
		{"a law widened", func() error { return g.AllowLaw(ctx, "law:ley-39-2015-art-5", "census") }},
		{"a law narrowed", func() error { return g.RemoveLaw(ctx, "law:ley-39-2015-art-5", "representation") }},
	} {
		v := g.Version()
		if err := change.do(); err != nil {
			t.Fatal(change.name, err)
		}
		native(change.name)
		if g.Version() == v {
			t.Fatalf("%s: the version did not change", change.name)
		}
	}
	// The program follows the change: disability is allowed, tax no more.
	in := validInput()
	in.Category, in.Consent.Category, in.RequestedField = "disability", "disability", []string{"degree"}
	in.LoA = "high"
	if d, err := g.Decide(ctx, in); err != nil || !d.Allow || !slices.Equal(d.Fields, []string{"degree"}) {
		t.Fatalf("a category allowed at runtime: %+v %v", d, err)
	}
	in = validInput()
	in.Category, in.Consent.Category, in.RequestedField = "tax", "tax", []string{"income_annual"}
	if d, err := g.Decide(ctx, in); err != nil || d.Allow || !slices.Equal(d.Reasons, []string{"category-not-allowed-for-purpose", "no-fields"}) {
		t.Fatalf("a category removed at runtime: %+v %v", d, err)
	}

	// Other modules: OPA decides.
	extra, err := NewGuard(ctx, func(c *guardConfig) {
		c.extra = map[string]string{"rego/more.rego": "package obert.guard\nimport rego.v1\nmore if true\n"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if extra.state.Load().program != nil {
		t.Fatal("the native program decides for modules it was not written for")
	}
	// Data of shapes the program does not model: OPA decides, and still
	// decides as the policy says.
	for name, mutate := range map[string]func(map[string]any){
		"a law's requesters not a list": func(d map[string]any) {
			laws := d["obert"].(map[string]any)["laws"].([]any)
			laws[0].(map[string]any)["requesters"] = "gencat-drets-socials"
		},
		"a level's meets not a boolean": func(d map[string]any) {
			d["obert"].(map[string]any)["meets"].(map[string]any)["high"] = map[string]any{"high": 1}
		},
		"no min_loa": func(d map[string]any) {
			cats := d["obert"].(map[string]any)["purposes"].(map[string]any)["aid-recommendation"].(map[string]any)["categories"]
			delete(cats.(map[string]any)["census"].(map[string]any), "min_loa")
		},
		"a purpose not an object": func(d map[string]any) {
			d["obert"].(map[string]any)["purposes"].(map[string]any)["marketing"] = true
		},
	} {
		data, err := Data()
		if err != nil {
			t.Fatal(err)
		}
		mutate(data)
		g, err := NewGuard(ctx, func(c *guardConfig) { c.data = data })
		if err != nil {
			t.Fatal(name, err)
		}
		if g.state.Load().program != nil {
			t.Errorf("%s: the native program decides", name)
		}
		if _, err := g.Decide(ctx, validInput()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// decideBoth decides in with g both ways, and fails t unless the native
// program and OPA agree on allow, reasons and fields.
func decideBoth(t testing.TB, g *Guard, in Input) Decision {
	t.Helper()
	ctx := context.Background()
	st := g.state.Load()
	if st.program == nil {
		t.Fatal("the native program does not apply")
	}
	var native Decision
	native.Allow, native.Reasons, native.Fields = st.program.decide(&in)
	want, err := g.decideOPA(ctx, Decision{}, in)
	if err != nil {
		t.Fatalf("%+v (consent %+v): OPA: %v", in, in.Consent, err)
	}
	if native.Allow != want.Allow || !slices.Equal(native.Reasons, want.Reasons) || !slices.Equal(native.Fields, want.Fields) ||
		(native.Reasons == nil) != (want.Reasons == nil) || (native.Fields == nil) != (want.Fields == nil) {
		t.Fatalf("%+v (consent %+v):\n native %v %q %q\n OPA    %v %q %q", in, in.Consent,
			native.Allow, native.Reasons, native.Fields, want.Allow, want.Reasons, want.Fields)
	}
	return want
}

// inputGen draws inputs whose every field the policy reads varies: names
// from the data and others, empty ones, requested fields absent, empty or
// repeated, times either side of each bound and at int64's ends.
type inputGen struct {
	pick func(n int) int
	int  func() int64
}

func (g inputGen) str(xs ...string) string { return xs[g.pick(len(xs))] }

// near is a time at, around or far from t.
func (g inputGen) near(t int64) int64 {
	switch g.pick(8) {
	case 0:
		return 0
	case 1:
		return math.MaxInt64
	case 2:
		return math.MinInt64
	case 3:
		return g.int()
	default:
		return t + int64(g.pick(5)-2)*(1+int64(g.pick(2))*3599)
	}
}

var (
	genPurposes   = []string{"aid-recommendation", "proactive-alerts", "acting-for", "company-folder", "residence-certificate", "marketing", ""}
	genCategories = []string{"census", "tax", "employment", "representation", "company", "disability", "nothing", ""}
	genRequesters = []string{"gencat-drets-socials", "ajuntament-x", ""}
	genSources    = []string{"padro-municipal", "aeat", ""}
	genLoAs       = []string{"low", "substantial", "high", "none", ""}
	genLaws       = []string{"law:ley-39-2015-art-5", "noopo:ley-39-2015-art-28", "law:other", "gdpr-6-1-a", ""}
	genFields     = []string{"municipality", "birth_date", "income_annual", "employed", "companies", "company_name",
		"tax_compliant", "resident_in_catalonia", "degree", "address", ""}
)

// lawCases are exchanges laws cover, in the shipped data or after
// dataChanges: purpose, category, a field it allows, the law.
var lawCases = [][4]string{
	{"acting-for", "representation", "companies", "law:ley-39-2015-art-5"},
	{"company-folder", "company", "company_name", "noopo:ley-39-2015-art-28"},
	{"acting-for", "census", "municipality", "law:ley-39-2015-art-5"},
	{"company-folder", "census", "municipality", "noopo:ley-39-2015-art-28"},
	{"aid-recommendation", "census", "municipality", "law:other"},
	{"company-folder", "tax", "income_annual", "noopo:ley-39-2015-art-28"},
}

// consentCases are exchanges a consent may cover, in the shipped data or
// after dataChanges: purpose, category, a field it allows.
var consentCases = [][3]string{
	{"aid-recommendation", "census", "municipality"},
	{"aid-recommendation", "employment", "employed"},
	{"proactive-alerts", "tax", "income_annual"},
	{"residence-certificate", "census", "resident_in_catalonia"},
	{"aid-recommendation", "disability", "degree"},
}

func (g inputGen) input(now int64) Input {
	in := Input{
		Subject: "s", LoA: g.str(append(genLoAs, "substantial", "high")...), Purpose: g.str(genPurposes...), Requester: g.str(genRequesters...),
		Connector: "c", Category: g.str(genCategories...), Source: g.str(genSources...), Now: now,
	}
	if g.pick(8) == 0 {
		in.Now = g.near(now)
	}
	switch g.pick(8) {
	case 0: // absent: null
	case 1:
		in.RequestedField = []string{}
	default:
		for range g.pick(6) {
			in.RequestedField = append(in.RequestedField, g.str(genFields...))
		}
	}
	if g.pick(3) == 0 { // an exchange a consent may cover
		c := consentCases[g.pick(len(consentCases))]
		in.Purpose, in.Category = c[0], c[1]
		in.RequestedField = append(in.RequestedField, c[2])
	}
	if g.pick(4) > 0 {
		c := &Consent{ID: "g", Category: in.Category, Purpose: in.Purpose, Requester: in.Requester, Source: in.Source,
			LegalBasis: "gdpr-6-1-a", Active: g.pick(6) > 0, ExpiresAt: now + 86400}
		if g.pick(2) == 0 {
			c.ExpiresAt = g.near(now)
		}
		switch g.pick(8) {
		case 0:
			c.Category = g.str(genCategories...)
		case 1:
			c.Purpose = g.str(genPurposes...)
		case 2:
			c.LegalBasis = g.str(genLaws...)
		case 3:
			c.Requester = g.str(genRequesters...)
		case 4:
			c.Source = g.str(genSources...)
		}
		if g.pick(3) == 0 {
			c.MinInterval = []int64{86400, 1, -1, math.MaxInt64, math.MinInt64}[g.pick(5)]
			in.LastFetch = g.near(now - 86400)
		}
		if g.pick(3) == 0 {
			c.FromYear = []int64{0, 2021, 2022, -5, math.MaxInt64}[g.pick(5)]
			c.ToYear = []int64{0, 2023, 2024, -1, math.MinInt64}[g.pick(5)]
			if g.pick(4) > 0 {
				in.Period = []int64{2020, 2021, 2022, 2023, 2024, 2025, -1, math.MaxInt64, math.MinInt64}[g.pick(9)]
			}
		}
		in.Consent = c
	}
	if g.pick(3) == 0 {
		in.LegalBasis = g.str(genLaws...)
		in.Objected = g.pick(3) == 0
		if g.pick(2) == 0 { // an exchange a law covers, or nearly
			law := lawCases[g.pick(len(lawCases))]
			in.Purpose, in.Category, in.LegalBasis = law[0], law[1], law[3]
			in.RequestedField = append(in.RequestedField, law[2])
			if g.pick(4) > 0 {
				in.Requester, in.LoA = "gencat-drets-socials", "substantial"
			}
			if g.pick(3) > 0 {
				in.Consent = nil
			}
		}
	} else if g.pick(8) == 0 {
		in.Objected = true
	}
	return in
}

// randomGen is an inputGen over a seeded generator.
func randomGen(seed uint64) inputGen {
	r := rand.New(rand.NewPCG(seed, 2026))
	return inputGen{pick: r.IntN, int: func() int64 { return int64(r.Uint64()) }}
}

// dataChanges are changes an administration's connectors make at runtime,
// applied in turn: the guard is compared after each.
var dataChanges = []struct {
	name string
	do   func(ctx context.Context, g *Guard) error
}{
	{"shipped", func(context.Context, *Guard) error { return nil }},
	{"disability for high", func(ctx context.Context, g *Guard) error {
		return g.AllowCategory(ctx, "aid-recommendation", "disability", "high", []string{"degree", "municipality"})
	}},
	{"census for low, fewer fields", func(ctx context.Context, g *Guard) error {
		return g.AllowCategory(ctx, "aid-recommendation", "census", "low", []string{"birth_date"})
	}},
	{"company with no fields", func(ctx context.Context, g *Guard) error {
		return g.AllowCategory(ctx, "company-folder", "company", "substantial", nil)
	}},
	{"tax removed", func(ctx context.Context, g *Guard) error { return g.RemoveCategory(ctx, "aid-recommendation", "tax") }},
	{"a law over census", func(ctx context.Context, g *Guard) error { return g.AllowLaw(ctx, "law:ley-39-2015-art-5", "census") }},
	{"a noopo law over census", func(ctx context.Context, g *Guard) error {
		return g.AllowLaw(ctx, "noopo:ley-39-2015-art-28", "census")
	}},
	{"census under acting-for", func(ctx context.Context, g *Guard) error {
		return g.AllowCategory(ctx, "acting-for", "census", "substantial", []string{"municipality", "companies"})
	}},
	{"census under company-folder", func(ctx context.Context, g *Guard) error {
		return g.AllowCategory(ctx, "company-folder", "census", "high", []string{"municipality"})
	}},
	{"representation no more", func(ctx context.Context, g *Guard) error {
		return g.RemoveLaw(ctx, "law:ley-39-2015-art-5", "representation")
	}},
}

// otherData is data of the shapes the program models that the shipped
// data does not show: a law of another kind, laws twice, a purpose with no
// categories, a level that meets a minimum as false, empty lists.
func otherData(t testing.TB) map[string]any {
	t.Helper()
	data, err := Data()
	if err != nil {
		t.Fatal(err)
	}
	ob := data["obert"].(map[string]any)
	law := func(id, kind string, cats ...string) map[string]any {
		return map[string]any{"id": id, "kind": kind, "requesters": []any{"gencat-drets-socials", ""},
			"categories": toAny(cats), "purposes": []any{"aid-recommendation", "company-folder", ""}}
	}
	ob["laws"] = append(ob["laws"].([]any),
		law("law:other", "other", "census"),
		law("noopo:ley-39-2015-art-28", "noopo", "census", "company"),
		law("noopo:ley-39-2015-art-28", "law", "tax"),
		law("law:other", "law"),
		law("", "law", "census", ""),
		map[string]any{"id": "gdpr-6-1-a", "kind": "law", "requesters": []any{}, "categories": []any{}, "purposes": []any{}, "note": "x"},
	)
	ob["purposes"].(map[string]any)["marketing"] = map[string]any{}
	ob["purposes"].(map[string]any)[""] = map[string]any{"categories": map[string]any{
		"": map[string]any{"min_loa": "", "fields": []any{"", "municipality"}}}}
	ob["meets"].(map[string]any)["substantial"].(map[string]any)["low"] = false
	ob["meets"].(map[string]any)[""] = map[string]any{"": true, "none": true}
	return data
}

func toAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// TestNativeEqualsOPA: the native program and OPA give the same decision
// (allow, every reason, the fields) on every path, over the shipped data,
// after each change at runtime and over data of other shapes, for
// thousands of inputs that vary every field the policy reads.
func TestNativeEqualsOPA(t *testing.T) {
	ctx := context.Background()
	now := at("2026-11-24T10:00:00Z")
	seen := map[string]int{}
	check := func(g *Guard, gen inputGen, n int) {
		for range n {
			d := decideBoth(t, g, gen.input(now))
			for _, r := range d.Reasons {
				seen[r]++
			}
		}
	}
	g, err := NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gen := randomGen(22)
	for _, c := range dataChanges {
		if err := c.do(ctx, g); err != nil {
			t.Fatal(c.name, err)
		}
		check(g, gen, 1500)
	}
	other, err := NewGuard(ctx, func(c *guardConfig) { c.data = otherData(t) })
	if err != nil {
		t.Fatal(err)
	}
	check(other, gen, 3000)
	// The shipped Rego tests' own cases: the valid input and each of
	// TestDecide's denials.
	decideBoth(t, g, validInput())
	for _, reason := range []string{"consent-active", "legal-basis", "purpose-unknown", "category-not-allowed-for-purpose",
		"loa-too-low", "no-consent", "objected", "consent-withdrawn-or-expired", "outside-period", "too-frequent", "no-fields"} {
		t.Logf("%s: %d", reason, seen[reason])
		if seen[reason] < 20 {
			t.Errorf("only %d decisions gave %s", seen[reason], reason)
		}
	}
}

// FuzzNativeGuard: on any input the fuzzer makes, over the shipped data
// changed at runtime and over data of other shapes, the native program
// and OPA decide the same.
func FuzzNativeGuard(f *testing.F) {
	ctx := context.Background()
	var guards []*Guard
	g, err := NewGuard(ctx)
	if err != nil {
		f.Fatal(err)
	}
	guards = append(guards, g)
	changed, err := NewGuard(ctx)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range dataChanges {
		if err := c.do(ctx, changed); err != nil {
			f.Fatal(err)
		}
	}
	other, err := NewGuard(ctx, func(c *guardConfig) { c.data = otherData(f) })
	if err != nil {
		f.Fatal(err)
	}
	guards = append(guards, changed, other)
	f.Add([]byte{})
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("\x02\x03\x01\x00\x00\x00\x05\x05\x05\x01\x01\x01\x01\x02\x00\x03\x00\x00\x00\x00\x07"))
	f.Fuzz(func(t *testing.T, b []byte) {
		next := func() byte {
			if len(b) == 0 {
				return 0
			}
			c := b[0]
			b = b[1:]
			return c
		}
		gen := inputGen{
			pick: func(n int) int { return int(next()) % n },
			int: func() int64 {
				var w [8]byte
				for i := range w {
					w[i] = next()
				}
				return int64(binary.LittleEndian.Uint64(w[:]))
			},
		}
		g := guards[gen.pick(len(guards))]
		decideBoth(t, g, gen.input(at("2026-11-24T10:00:00Z")))
	})
}
