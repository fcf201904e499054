// Package recommend tells a citizen which social aids of every
// administration fit them, and why: each aid's eligibility rule is Rego whose
// named criteria become the explanation. A criterion the data cannot decide
// makes the aid a "maybe", with the data that would decide it.
//
// Recommendations are advice, not decisions. The package never fetches data:
// it is given facts that already passed the policy guard.
package recommend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/obert-gov/obert/policy"
)

var aidID = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)

// reserved reports whether id may not name an aid: obert.aids.lib holds the
// helpers every rule shares, obert.recommend the generated gather module,
// and obert.aids.<id>_test an aid's tests.
func reserved(id string) bool {
	return id == "lib" || id == "recommend" || strings.HasSuffix(id, "_test")
}

// Statuses of an aid for a citizen.
const (
	Eligible    = "eligible"
	Maybe       = "maybe"
	NotEligible = "not-eligible"
)

// Aid is one published aid.
type Aid struct {
	ID             string            `json:"id"`
	Level          string            `json:"level"` // state | generalitat | county | city
	Administration map[string]string `json:"administration"`
	Title          map[string]string `json:"title"`
	Summary        map[string]string `json:"summary"`
	LegalReference string            `json:"legal_reference"`
	ApplyURL       string            `json:"apply_url"`
	ValidFrom      string            `json:"valid_from"`
	ValidUntil     string            `json:"valid_until"`
	Categories     []string          `json:"categories"`
	// Archetypes are the profiles of the anonymous questionnaire whose
	// standard package includes this aid.
	Archetypes []string        `json:"archetypes,omitempty"`
	Criteria   []CriterionSpec `json:"criteria"`
	// Area is where a county's or a city's aid applies; none means every
	// county or city grants it. The rule still decides; the area places
	// the aid in the questionnaire's package for the place a visitor names
	// and on the citizen's page.
	Area *Area `json:"area,omitempty"`
	// How to claim it: the steps in order, the documents to bring, the last
	// day to apply (YYYY-MM-DD) and where to go in person.
	Steps     []map[string]string `json:"steps,omitempty"`
	Documents []AidDocument       `json:"documents,omitempty"`
	Deadline  string              `json:"deadline,omitempty"`
	InPerson  map[string]string   `json:"in_person,omitempty"`
	// LifeEvents are the life events the aid is for (catalogue's ids):
	// the folder groups it under them.
	LifeEvents []string `json:"life_events,omitempty"`
}

// validOn reports whether a may be granted on today (YYYY-MM-DD).
func (a *Aid) validOn(today string) bool {
	return today >= a.ValidFrom && (a.ValidUntil == "" || today <= a.ValidUntil)
}

// Area is a county (IDESCAT's two-digit comarca code) or a municipality
// (INE's five-digit code).
type Area struct {
	County       string `json:"county,omitempty"`
	Municipality string `json:"municipality,omitempty"`
}

// AidDocument is one document an aid asks for: either a text, or a
// document Obert issues (census-certificate, tax-certificate,
// working-life-report), which the page links to My documents.
type AidDocument struct {
	Text  map[string]string `json:"text,omitempty"`
	Obert string            `json:"obert,omitempty"`
}

// CriterionSpec names one criterion of an aid and explains it.
type CriterionSpec struct {
	Name     string            `json:"name"`
	Category string            `json:"category"` // the data that decides it
	Text     map[string]string `json:"text"`
}

// Criterion is one criterion evaluated for a citizen.
type Criterion struct {
	CriterionSpec
	Met *bool // nil: the data at hand cannot decide it
}

// Result is one aid's verdict for a citizen.
type Result struct {
	Aid      Aid
	Status   string
	Criteria []Criterion
	// Missing are the categories the aid declares of which the situation
	// holds no facts: for a "maybe", the data that would decide it. A
	// "maybe" with nothing missing is one the data at hand does not settle.
	Missing []string
}

// Situation is what is known of a citizen: facts per category (only
// fields released by the guard) and questionnaire answers.
type Situation struct {
	Facts   map[string]map[string]any `json:"facts"`
	Answers map[string]any            `json:"answers,omitempty"`
}

// Recommender evaluates the catalogue. Administrations publish and retire
// aids at runtime; each change recompiles the rules once.
type Recommender struct {
	mu      sync.RWMutex
	aids    []Aid
	modules map[string]string // rule modules (no tests), by file name
	shards  []shard           // the aids OPA evaluates, cut to be evaluated in parallel
	// natives are the aids evaluated natively (native.go), by id; plan
	// lists them as a recommendation evaluates them, those that read the
	// same categories together.
	natives map[string]*nativeAid
	plan    []planned
	// versions of the aids (see Version), worked out with the shards.
	versions map[string]string
	now      func() time.Time
	// evaluators of single aids, for the current catalogue.
	evaluators map[string]*Evaluator
	// caps are the built-ins aid rules may call: pure ones only, since
	// administrations write the rules (policy.PureCapabilities); pure
	// names them.
	caps *ast.Capabilities
	pure map[string]bool
	// helpers are the categories each shared helper reads (lib.rego).
	helpers map[string][]string
}

// New compiles the aid rules once; a rule that does not compile, or an aid
// without a rule, is an error.
func New(ctx context.Context, catalogue []byte, modules map[string]string, now func() time.Time) (*Recommender, error) {
	var aids []Aid
	if err := json.Unmarshal(catalogue, &aids); err != nil {
		return nil, fmt.Errorf("recommend: catalogue: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	r := &Recommender{modules: map[string]string{}, now: now, evaluators: map[string]*Evaluator{}, caps: policy.PureCapabilities(), pure: map[string]bool{}}
	for _, b := range r.caps.Builtins {
		r.pure[b.Name] = true
	}
	for name, src := range modules {
		if strings.HasSuffix(name, "_test.rego") {
			continue
		}
		r.modules[name] = src
		if aidOf(src) != "lib" {
			continue
		}
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("recommend: %s: %w", name, err)
		}
		if r.helpers, err = helperCategories(m); err != nil {
			return nil, err
		}
	}
	if err := r.rebuild(ctx, aids, r.modules); err != nil {
		return nil, err
	}
	return r, nil
}

// rebuild compiles aids and modules and, if they compile, makes them the
// catalogue; r.mu must be held (or r not yet shared).
func (r *Recommender) rebuild(ctx context.Context, aids []Aid, modules map[string]string) error {
	natives := compileNatives(aids, modules, r.caps)
	var rest []Aid
	for _, a := range aids {
		if natives[a.ID] == nil {
			rest = append(rest, a)
		}
	}
	shards, versions, err := compile(ctx, aids, rest, modules, r.caps)
	if err != nil {
		return err
	}
	r.aids, r.modules, r.shards, r.versions, r.natives = aids, modules, shards, versions, natives
	r.plan = planNatives(aids, natives)
	clear(r.evaluators)
	return nil
}

// planned is an aid evaluated natively: its index in the catalogue, its
// program, and the number of its set of categories.
type planned struct {
	at, cats int
	n        *nativeAid
}

// planNatives orders the aids evaluated natively by the categories they
// read (then as in the catalogue), so that a recommendation works out the
// shared helpers once for each set of categories.
func planNatives(aids []Aid, natives map[string]*nativeAid) []planned {
	var plan []planned
	for i, a := range aids {
		if n := natives[a.ID]; n != nil {
			plan = append(plan, planned{at: i, n: n})
		}
	}
	slices.SortStableFunc(plan, func(a, b planned) int { return strings.Compare(a.n.catKey, b.n.catKey) })
	for k := range plan {
		if plan[k].cats = 0; k > 0 {
			plan[k].cats = plan[k-1].cats
			if plan[k].n.catKey != plan[k-1].n.catKey {
				plan[k].cats++
			}
		}
	}
	return plan
}

var aidPackage = regexp.MustCompile(`(?m)^package obert\.aids\.([a-z][a-z0-9_]*)\s*$`)

// aidOf names the package a module declares under obert.aids ("" for
// none): an aid's rule, or a shared helper such as lib.
func aidOf(src string) string {
	if m := aidPackage.FindStringSubmatch(src); m != nil {
		return m[1]
	}
	return ""
}

// shard is a prepared query over some aids that declare the same
// categories, evaluated with only those categories' facts as input.
type shard struct {
	query      rego.PreparedEvalQuery
	categories []string
	aids       []string // the ids of its aids
}

// compile builds the shards over the aids of opa (those of aids that are
// not evaluated natively) and modules: they are grouped by
// the categories they declare, and each group cut into pieces of at most a
// processor's share of the catalogue (at most four shares), each with the
// modules of its own aids and the shared ones, so that a recommendation
// evaluates them in parallel. It also returns each aid's version.
func compile(ctx context.Context, aids, opa []Aid, modules map[string]string, caps *ast.Capabilities) ([]shard, map[string]string, error) {
	n := min(runtime.GOMAXPROCS(0), 4, max(len(opa), 1))
	size := max((len(opa)+n-1)/n, 1)
	groups := map[string][]Aid{}
	for _, a := range opa {
		k := viewKey(a.Categories)
		groups[k] = append(groups[k], a)
	}
	var pieces [][]Aid
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		pieces = slices.AppendSeq(pieces, slices.Chunk(groups[k], size))
	}
	// Which module holds which aid's rule; the others (the shared helpers)
	// go to every shard.
	isAid := map[string]bool{}
	for _, a := range aids {
		isAid[a.ID] = true
	}
	owner, rule := map[string]string{}, map[string]string{}
	for name, src := range modules {
		if id := aidOf(src); isAid[id] {
			owner[name], rule[id] = id, src
		}
	}
	versions := map[string]string{}
	for _, a := range aids {
		if !aidID.MatchString(a.ID) {
			return nil, nil, fmt.Errorf("recommend: aid id %q: lower-case letters, digits and _", a.ID)
		}
		if reserved(a.ID) {
			return nil, nil, fmt.Errorf("recommend: aid id %q is reserved", a.ID)
		}
		if _, ok := rule[a.ID]; !ok {
			return nil, nil, fmt.Errorf("recommend: aid %s has no rule (package obert.aids.%s)", a.ID, a.ID)
		}
		versions[a.ID] = version(a, rule[a.ID])
	}
	shards := make([]shard, len(pieces))
	errs := make([]error, len(pieces))
	var wg sync.WaitGroup
	for i, p := range pieces {
		shards[i].categories = p[0].Categories
		for _, a := range p {
			shards[i].aids = append(shards[i].aids, a.ID)
		}
		wg.Go(func() { shards[i].query, errs[i] = compileShard(ctx, p, modules, owner, caps) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return shards, versions, nil
}

func compileShard(ctx context.Context, aids []Aid, modules, owner map[string]string, caps *ast.Capabilities) (rego.PreparedEvalQuery, error) {
	// One generated module gathers each aid's criteria by direct
	// reference: evaluating the whole data.obert.aids tree instead merges
	// hundreds of package documents on every recommendation. Each
	// criterion is one rule of a set of [aid, criterion, value], looked up
	// by its name (the criteria rules have ref heads, and the whole
	// criteria object would be assembled from them); an undecided criterion
	// leaves no element. A set costs the evaluator less than an object
	// comprehension per aid (BenchmarkRecommendConstantRules: a third less).
	in := map[string]bool{}
	var gather strings.Builder
	gather.WriteString("package obert.recommend\n\nimport rego.v1\n\n")
	for _, a := range aids {
		in[a.ID] = true
		for _, n := range criterionNames(a) {
			// A JSON string is a Rego string, whatever the name holds.
			name, _ := json.Marshal(n)
			fmt.Fprintf(&gather, "all contains [%q, %s, v] if v := data.obert.aids.%s.criteria[%s]\n", a.ID, name, a.ID, name)
		}
	}
	opts := []func(*rego.Rego){rego.Query("data.obert.recommend.all"), rego.Module("obert/recommend.rego", gather.String()), rego.Capabilities(caps)}
	for name, src := range modules {
		if id, ok := owner[name]; !ok || in[id] {
			opts = append(opts, rego.Module(name, src))
		}
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("recommend: compile aid rules: %w", err)
	}
	return q, nil
}

// modulesWith is the rule modules with the aid id's rule set to rule.
func (r *Recommender) modulesWith(id, rule string) map[string]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := maps.Clone(r.modules)
	out["rego/aids/"+id+".rego"] = rule
	return out
}

// Publish adds the aid, or replaces the one with its id, with its rule.
// Check it first.
func (r *Recommender) Publish(ctx context.Context, p Publication) error {
	m, err := ast.ParseModuleWithOpts("aid.rego", p.Rule, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return fmt.Errorf("recommend: rule of %s: %w", p.Aid.ID, err)
	}
	if got := m.Package.Path.String(); got != "data.obert.aids."+p.Aid.ID {
		return fmt.Errorf("recommend: rule of %s declares %s", p.Aid.ID, got)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	aids := slices.DeleteFunc(slices.Clone(r.aids), func(a Aid) bool { return a.ID == p.Aid.ID })
	aids = append(aids, p.Aid)
	mods := maps.Clone(r.modules)
	mods["rego/aids/"+p.Aid.ID+".rego"] = p.Rule
	return r.rebuild(ctx, aids, mods)
}

// Retire removes the aid with id from the catalogue.
func (r *Recommender) Retire(ctx context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	aids := slices.DeleteFunc(slices.Clone(r.aids), func(a Aid) bool { return a.ID == id })
	mods := maps.Clone(r.modules)
	delete(mods, "rego/aids/"+id+".rego")
	return r.rebuild(ctx, aids, mods)
}

// Aids returns the catalogue.
func (r *Recommender) Aids() []Aid {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.aids)
}

// Recommend evaluates every aid valid today for s, eligible first.
func (r *Recommender) Recommend(ctx context.Context, s Situation) ([]Result, error) {
	today := r.now().UTC().Format(time.DateOnly)
	r.mu.RLock()
	shards, catalogue, plan := r.shards, r.aids, r.plan
	r.mu.RUnlock()
	inputs, err := shardInputs(shards, s, today)
	if err != nil {
		return nil, err
	}
	parts := make([]map[string]map[string]bool, len(shards))
	slow := make([][]string, len(shards)+1)
	errs := make([]error, len(shards)+1)
	var wg sync.WaitGroup
	for i, sh := range shards {
		wg.Go(func() {
			parts[i], errs[i] = evalShard(ctx, sh.query, inputs[i])
			if policy.Cancelled(errs[i]) && ctx.Err() == nil {
				// A rule that runs past its budget on this citizen's
				// data: the shard's aids one by one, each within its own,
				// so that one administration's rule cannot hold back the
				// others' verdicts.
				parts[i], slow[i], errs[i] = r.evalApart(ctx, sh.aids, s)
			}
		})
	}
	// Meanwhile, the aids evaluated natively, here: a few microseconds
	// each, their verdicts made at once. The criteria of every aid are
	// held in one array.
	results := make([]decision, len(catalogue))
	decided := make([]bool, len(catalogue))
	crit := criteriaFor(catalogue)
	slow[len(shards)], errs[len(shards)] = r.evalNative(ctx, catalogue, plan, s, today, results, decided, crit)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	all := map[string]map[string]bool{}
	for _, p := range parts {
		maps.Copy(all, p)
	}
	tooSlow := map[string]bool{}
	for _, ids := range slow {
		for _, id := range ids {
			tooSlow[id] = true
		}
	}
	keep := make([]bool, len(catalogue))
	var met []tri
	for i := range catalogue {
		a := &catalogue[i]
		if !a.validOn(today) || tooSlow[a.ID] {
			continue
		}
		if !decided[i] {
			met = triOf(a, all[a.ID], met)
			results[i] = crit.decide(i, a, met)
		}
		if results[i].Status == Maybe {
			for _, c := range a.Categories {
				if len(s.Facts[c]) == 0 {
					results[i].Missing = append(results[i].Missing, c)
				}
			}
		}
		keep[i] = true
	}
	// Eligible first, then maybe, then not: a stable partition, each
	// (large) result written once, here, rather than sorted.
	out := make([]Result, 0, len(catalogue))
	for _, st := range []string{Eligible, Maybe, NotEligible} {
		for i, d := range results {
			if keep[i] && d.Status == st {
				out = append(out, Result{Aid: catalogue[i], Status: d.Status, Criteria: d.Criteria, Missing: d.Missing})
			}
		}
	}
	return out, nil
}

// decision is a Result without its aid.
type decision struct {
	Status   string
	Criteria []Criterion
	Missing  []string
}

// criteria holds the criteria of every aid of a catalogue, and what their
// Met point to, in two arrays: aid i's are at[i] to at[i+1].
type criteria struct {
	all  []Criterion
	vals []bool
	at   []int
}

func criteriaFor(catalogue []Aid) criteria {
	at := make([]int, len(catalogue)+1)
	for i := range catalogue {
		at[i+1] = at[i] + len(catalogue[i].Criteria)
	}
	n := at[len(catalogue)]
	return criteria{all: make([]Criterion, n), vals: make([]bool, n), at: at}
}

// decide is decide for aid i, a, into its share of the arrays (appending
// to its criteria copies them).
func (c criteria) decide(i int, a *Aid, met []tri) decision {
	lo, hi := c.at[i], c.at[i+1]
	return decide(a, met, c.all[lo:hi:hi], c.vals[lo:hi:hi])
}

// verdict is an aid's result from the criteria the data decided: eligible
// if all are met, not eligible if one is not, maybe if one is undecided.
func verdict(a Aid, met map[string]bool) Result {
	d := decide(&a, triOf(&a, met, nil), make([]Criterion, len(a.Criteria)), make([]bool, len(a.Criteria)))
	return Result{Aid: a, Status: d.Status, Criteria: d.Criteria}
}

// triOf is the value of each of a's criteria, in order, in met (reused).
func triOf(a *Aid, met map[string]bool, out []tri) []tri {
	out = out[:0]
	for _, spec := range a.Criteria {
		t := undecided
		if v, ok := met[spec.Name]; ok {
			t = triFrom(v)
		}
		out = append(out, t)
	}
	return out
}

// decide is verdict from the value of each of a's criteria, in order,
// into crit and vals (what each Met points to), one of each a criterion.
func decide(a *Aid, met []tri, crit []Criterion, vals []bool) decision {
	d := decision{Status: Eligible, Criteria: crit}
	for i, spec := range a.Criteria {
		crit[i] = Criterion{CriterionSpec: spec}
		if met[i] == undecided {
			if d.Status == Eligible {
				d.Status = Maybe
			}
			continue
		}
		vals[i] = met[i] == yes
		crit[i].Met = &vals[i]
		if !vals[i] {
			d.Status = NotEligible
		}
	}
	return d
}

// Budgets of an evaluation: a whole shard of the catalogue for one
// citizen, and one aid alone. Published rules are checked to finish with
// no data, but data can make a rule slow; past its budget an aid is left
// out of that recommendation (and a sweep skips it for that citizen).
// Aids evaluated natively need none: their programs have no loops.
const (
	ShardBudget = 500 * time.Millisecond
	AidBudget   = 100 * time.Millisecond
)

// ErrTooSlow is an aid whose rule did not finish within AidBudget.
var ErrTooSlow = errors.New("recommend: the aid's rule ran past its time budget")

// evalNative evaluates the aids of the catalogue that have a native
// program, valid today, into results (decided marks them); an evaluation
// native code leaves to OPA is done by the aid's Evaluator, within its
// budget, and those that run past it are returned.
func (r *Recommender) evalNative(ctx context.Context, catalogue []Aid, plan []planned, s Situation, today string,
	results []decision, decided []bool, crit criteria) ([]string, error) {
	apart, at, err := evalPlan(catalogue, plan, s, today, results, decided, crit)
	if err != nil || len(apart) == 0 {
		return nil, err
	}
	more, slow, err := r.evalApart(ctx, apart, s)
	if err != nil {
		return nil, err
	}
	var met []tri
	for id, m := range more {
		i := at[id]
		met = triOf(&catalogue[i], m, met)
		results[i], decided[i] = crit.decide(i, &catalogue[i], met), true
	}
	return slow, nil
}

// evalPlan evaluates the aids of plan valid today natively, as one
// recommendation: their decisions into results (decided marks them), by
// index in catalogue. The values of the shared helpers are worked out once
// for the aids that read the same categories, which plan keeps together.
// It returns the aids native code leaves to OPA, and their indices.
func evalPlan(catalogue []Aid, plan []planned, s Situation, today string, results []decision, decided []bool,
	crit criteria) ([]string, map[string]int, error) {
	var ev nativeEval
	var apart []string
	at := map[string]int{}
	var vals, met []tri // one aid's criteria, reused
	cats := -1
	for _, p := range plan {
		i, n, a := p.at, p.n, &catalogue[p.at]
		if !a.validOn(today) {
			continue
		}
		if p.cats != cats {
			// Other categories: the helpers' values may differ.
			if ev.cache == nil {
				ev.cache = make([]cached, n.nRules)
			}
			ev.start(s, today, ev.cache)
			cats = p.cats
		}
		var err error
		vals, err = n.eval(&ev, vals)
		switch {
		case errors.Is(err, errFallback):
			apart, at[a.ID] = append(apart, a.ID), i
		case err != nil:
			return nil, nil, err
		default:
			met = met[:0]
			for _, j := range n.spec {
				t := undecided
				if j >= 0 {
					t = vals[j]
				}
				met = append(met, t)
			}
			results[i], decided[i] = crit.decide(i, a, met), true
		}
	}
	return apart, at, nil
}

// evalApart evaluates ids one by one, each within AidBudget; it returns
// the criteria decided and the aids that ran past it.
func (r *Recommender) evalApart(ctx context.Context, ids []string, s Situation) (map[string]map[string]bool, []string, error) {
	out := map[string]map[string]bool{}
	var slow []string
	for _, id := range ids {
		ev, err := r.Evaluator(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		met, err := ev.criteria(ctx, s)
		if errors.Is(err, ErrTooSlow) {
			slow = append(slow, id)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		out[id] = met
	}
	return out, slow, nil
}

// evalShard evaluates one shard: each aid's criteria that the data decides,
// true or false (a criterion of another type decides nothing).
func evalShard(ctx context.Context, q rego.PreparedEvalQuery, input rego.EvalOption) (map[string]map[string]bool, error) {
	rs, err := policy.EvalWithin(ctx, ShardBudget, q, input)
	if err != nil {
		return nil, fmt.Errorf("recommend: evaluate: %w", err)
	}
	all := map[string]map[string]bool{}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return all, nil
	}
	triples, _ := rs[0].Expressions[0].Value.([]any)
	for _, t := range triples {
		tr, _ := t.([]any)
		if len(tr) != 3 {
			continue
		}
		id, _ := tr[0].(string)
		name, _ := tr[1].(string)
		met, ok := tr[2].(bool)
		if !ok {
			continue
		}
		if all[id] == nil {
			all[id] = map[string]bool{}
		}
		all[id][name] = met
	}
	return all, nil
}

// bools reads a criteria document: the criteria decided, true or false.
func bools(v any) map[string]bool {
	crit, _ := v.(map[string]any)
	m := make(map[string]bool, len(crit))
	for name, met := range crit {
		if b, ok := met.(bool); ok {
			m[name] = b
		}
	}
	return m
}

func criterionNames(a Aid) []string {
	out := make([]string, 0, len(a.Criteria))
	for _, c := range a.Criteria {
		out = append(out, c.Name)
	}
	return out
}
