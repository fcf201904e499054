package policy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

//go:embed rego/*.rego rego/data.json
var regoFS embed.FS

// ErrEvaluation wraps every failure to reach a decision; the Decision that
// comes with it denies.
var ErrEvaluation = errors.New("policy: evaluation failed")

// Guard is the access guard: embedded Rego compiled once at construction.
type Guard struct {
	query   rego.PreparedEvalQuery
	store   storage.Store
	mu      sync.Mutex // serialises changes of the data
	state   atomic.Pointer[guardState]
	timeout time.Duration
	newID   func() string
	// native: the modules are those guardProgram is written for, so it
	// decides whenever the data is of a shape it models (see native.go).
	native bool
}

// guardState is one version of the policy: its id and, when it applies,
// the native program over its data.
type guardState struct {
	version string
	program *guardProgram // nil: OPA decides
}

var _ Decider = (*Guard)(nil)

// GuardOption configures a Guard.
type GuardOption func(*guardConfig)

type guardConfig struct {
	timeout time.Duration
	newID   func() string
	extra   map[string]string // extra modules, for tests
	data    map[string]any    // replaces data.json, for tests
	opaOnly bool              // OPA decides every time, for tests
}

// WithTimeout bounds one evaluation; past it the decision is a deny.
func WithTimeout(d time.Duration) GuardOption { return func(c *guardConfig) { c.timeout = d } }

// WithDecisionIDs injects the decision id source.
func WithDecisionIDs(f func() string) GuardOption { return func(c *guardConfig) { c.newID = f } }

// Modules returns the embedded Rego sources by file name, tests included.
func Modules() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(regoFS, "rego", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".rego" {
			return err
		}
		b, err := regoFS.ReadFile(p)
		out[p] = string(b)
		return err
	})
	return out, err
}

// Data returns the embedded policy data document, with the fields of each
// purpose's categories as sets (data.json lists them).
func Data() (map[string]any, error) {
	b, err := regoFS.ReadFile("rego/data.json")
	if err != nil {
		return nil, err
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("policy: data.json: %w", err)
	}
	if err := fieldSets(d); err != nil {
		return nil, err
	}
	return d, nil
}

// fieldSets makes the fields of every purpose's categories in d sets,
// which the policy intersects with the requested fields (a set as well):
// one operation, where picking the allowed ones out of a list cost the
// evaluator a fifth of a decision.
func fieldSets(d map[string]any) error {
	ob, _ := d["obert"].(map[string]any)
	purposes, _ := ob["purposes"].(map[string]any)
	for pn, p := range purposes {
		pm, _ := p.(map[string]any)
		cats, _ := pm["categories"].(map[string]any)
		for cn, c := range cats {
			rule, ok := c.(map[string]any)
			if !ok {
				return fmt.Errorf("policy: data: purpose %s, category %s is not an object", pn, cn)
			}
			set, err := fieldSet(rule["fields"])
			if err != nil {
				return fmt.Errorf("policy: data: purpose %s, category %s: %w", pn, cn, err)
			}
			rule["fields"] = set
		}
	}
	return nil
}

// fieldSet is a list of field names as a set.
func fieldSet(v any) (ast.Set, error) {
	var names []string
	switch v := v.(type) {
	case ast.Set:
		return v, nil
	case []string:
		names = v
	case []any:
		for _, n := range v {
			s, ok := n.(string)
			if !ok {
				return nil, fmt.Errorf("a field name is not a string: %v", n)
			}
			names = append(names, s)
		}
	default:
		return nil, fmt.Errorf("fields must be a list of names")
	}
	terms := make([]*ast.Term, len(names))
	for i, n := range names {
		terms[i] = ast.StringTerm(n)
	}
	return ast.NewSet(terms...), nil
}

// NewGuard compiles the embedded policy; a policy that does not compile is
// an error, so the process stops at boot rather than deciding wrongly.
func NewGuard(ctx context.Context, opts ...GuardOption) (*Guard, error) {
	cfg := guardConfig{timeout: 100 * time.Millisecond, newID: func() string { return "dec_" + rand.Text() }}
	for _, o := range opts {
		o(&cfg)
	}
	mods, err := Modules()
	if err != nil {
		return nil, err
	}
	for k, v := range cfg.extra {
		mods[k] = v
	}
	data := cfg.data
	if data == nil {
		if data, err = Data(); err != nil {
			return nil, err
		}
	} else if err := fieldSets(data); err != nil {
		return nil, err
	}
	// The version hashes the modules, then the data; the modules' hash
	// alone says whether the native program was written for them.
	names := guardModules(mods)
	h := sha256.New()
	writeModules(h, names, mods)
	native := !cfg.opaOnly && hex.EncodeToString(h.Sum(nil)) == nativeModules
	// The store keeps AST values, so a decision reads data without
	// converting it from Go values on every evaluation.
	store := inmem.NewFromObjectWithOpts(data, inmem.OptReturnASTValuesOnRead(true))
	args := []func(*rego.Rego){rego.Query("data.obert.guard.decision"), rego.Store(store), rego.GenerateJSON(asTerm)}
	for _, n := range names {
		args = append(args, rego.Module(n, mods[n]))
	}
	db, _ := json.Marshal(data)
	h.Write(db)
	q, err := rego.New(args...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy: compile: %w", err)
	}
	g := &Guard{query: q, store: store, timeout: cfg.timeout, newID: cfg.newID, native: native}
	g.setVersion(ctx, hex.EncodeToString(h.Sum(nil))[:16])
	return g, nil
}

// noMetrics spares each evaluation the timers OPA would otherwise create.
var noMetrics = metrics.NoOp()

// noBaseCache keeps nothing. OPA caches what an evaluation reads of the
// data, which saves converting large JSON documents again; the guard's
// store already holds OPA's values, so a read costs less than caching it
// (which was an eighth of a decision's allocations).
type noBaseCache struct{}

func (noBaseCache) Get(ast.Ref) ast.Value  { return nil }
func (noBaseCache) Put(ast.Ref, ast.Value) {}

// noVirtualCache keeps nothing either. OPA memoises each rule's value
// within an evaluation; on the path nearly every decision takes (consent,
// with its conditions inline) each rule is evaluated once, so the memo
// was only its cost: a fifth of the bytes a decision allocated, and with
// them the collections that made the slowest decisions slow. A deny, which
// works out every reason, evaluates some rules again.
type noVirtualCache struct{}

func (noVirtualCache) Push()                         {}
func (noVirtualCache) Pop()                          {}
func (noVirtualCache) Get(ast.Ref) (*ast.Term, bool) { return nil, false }
func (noVirtualCache) Put(ast.Ref, *ast.Term)        {}
func (noVirtualCache) Keys() []ast.Ref               { return nil }

// AllowCategory adds, or replaces, what purpose may receive of category:
// the minimum level of assurance and the fields (data minimisation). An
// administration's newly registered connector comes in this way; the
// policy version changes with it, so decisions say which rules applied.
func (g *Guard) AllowCategory(ctx context.Context, purpose, category, minLoA string, fields []string) error {
	set, err := fieldSet(fields)
	if err != nil {
		return err
	}
	rule := map[string]any{"min_loa": minLoA, "fields": set}
	return g.change(ctx, purpose, category, rule)
}

// RemoveCategory removes what purpose may receive of category.
func (g *Guard) RemoveCategory(ctx context.Context, purpose, category string) error {
	return g.change(ctx, purpose, category, nil)
}

func (g *Guard) change(ctx context.Context, purpose, category string, rule map[string]any) error {
	if strings.ContainsAny(purpose+category, "/") || purpose == "" || category == "" {
		return fmt.Errorf("policy: bad purpose or category")
	}
	switch rule["min_loa"] {
	case nil, "low", "substantial", "high":
	default:
		return fmt.Errorf("policy: unknown level of assurance %v", rule["min_loa"])
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	path, ok := storage.ParsePathEscaped("/obert/purposes/" + purpose + "/categories/" + category)
	if !ok {
		return fmt.Errorf("policy: bad path")
	}
	err := storage.Txn(ctx, g.store, storage.WriteParams, func(txn storage.Transaction) error {
		if _, err := g.store.Read(ctx, txn, path[:len(path)-1]); err != nil {
			return fmt.Errorf("policy: unknown purpose %q: %w", purpose, err)
		}
		_, err := g.store.Read(ctx, txn, path)
		exists := err == nil
		switch {
		case rule == nil && exists:
			return g.store.Write(ctx, txn, storage.RemoveOp, path, nil)
		case rule == nil:
			return nil
		case exists:
			return g.store.Write(ctx, txn, storage.ReplaceOp, path, rule)
		default:
			return g.store.Write(ctx, txn, storage.AddOp, path, rule)
		}
	})
	if err != nil {
		return err
	}
	b, _ := json.Marshal(rule)
	sum := sha256.Sum256([]byte(g.Version() + "\x00" + purpose + "/" + category + "\x00" + string(b)))
	g.setVersion(ctx, hex.EncodeToString(sum[:])[:16])
	return nil
}

// AllowLaw lets the law (its id, "law:…" or "noopo:…") cover category too:
// a connector an administration registered for a purpose that runs on it.
func (g *Guard) AllowLaw(ctx context.Context, law, category string) error {
	return g.changeLaw(ctx, law, category, true)
}

// RemoveLaw stops the law covering category.
func (g *Guard) RemoveLaw(ctx context.Context, law, category string) error {
	return g.changeLaw(ctx, law, category, false)
}

func (g *Guard) changeLaw(ctx context.Context, law, category string, add bool) error {
	if category == "" || strings.Contains(category, "/") {
		return fmt.Errorf("policy: bad category")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	laws := storage.MustParsePath("/obert/laws")
	changed := false
	err := storage.Txn(ctx, g.store, storage.WriteParams, func(txn storage.Transaction) error {
		v, err := g.store.Read(ctx, txn, laws)
		if err != nil {
			return fmt.Errorf("policy: laws: %w", err)
		}
		list, err := ast.JSON(toValue(v))
		if err != nil {
			return err
		}
		items, _ := list.([]any)
		for i, it := range items {
			l, _ := it.(map[string]any)
			if l["id"] != law {
				continue
			}
			cats, _ := l["categories"].([]any)
			has := slices.Contains(cats, any(category))
			switch {
			case add && !has:
				cats = append(cats, category)
			case !add && has:
				cats = slices.DeleteFunc(cats, func(c any) bool { return c == category })
			default:
				return nil
			}
			changed = true
			path := storage.MustParsePath("/obert/laws/" + strconv.Itoa(i) + "/categories")
			return g.store.Write(ctx, txn, storage.ReplaceOp, path, cats)
		}
		return fmt.Errorf("policy: unknown law %q", law)
	})
	if err != nil || !changed {
		return err
	}
	sum := sha256.Sum256([]byte(g.Version() + "\x00" + law + "/" + category + "\x00" + strconv.FormatBool(add)))
	g.setVersion(ctx, hex.EncodeToString(sum[:])[:16])
	return nil
}

// toValue is a value read from the store as an AST value.
func toValue(v any) ast.Value {
	if av, ok := v.(ast.Value); ok {
		return av
	}
	av, _ := ast.InterfaceToValue(v)
	return av
}

// Laws lists the laws that cover category, sorted.
func (g *Guard) Laws(ctx context.Context, category string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, err := storage.ReadOne(ctx, g.store, storage.MustParsePath("/obert/laws"))
	if err != nil {
		return nil
	}
	list, _ := ast.JSON(toValue(v))
	items, _ := list.([]any)
	var out []string
	for _, it := range items {
		l, _ := it.(map[string]any)
		if cats, _ := l["categories"].([]any); slices.Contains(cats, any(category)) {
			id, _ := l["id"].(string)
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Categories lists the categories purpose may receive (none for an
// unknown purpose), sorted.
func (g *Guard) Categories(ctx context.Context, purpose string) []string {
	path, ok := storage.ParsePathEscaped("/obert/purposes/" + purpose + "/categories")
	if !ok || strings.Contains(purpose, "/") {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v, err := storage.ReadOne(ctx, g.store, path)
	if err != nil {
		return nil
	}
	var out []string
	switch m := v.(type) {
	case ast.Object: // the store returns OPA's values
		for _, k := range m.Keys() {
			if s, ok := k.Value.(ast.String); ok {
				out = append(out, string(s))
			}
		}
	case map[string]any:
		out = slices.Collect(maps.Keys(m))
	}
	slices.Sort(out)
	return out
}

// Version identifies the compiled policy and its data.
func (g *Guard) Version() string { return g.state.Load().version }

// setVersion publishes a new version of the data, with the native program
// over it when one applies. Called with the data's changes serialised (at
// construction, or holding g.mu), so the program read is the version's.
func (g *Guard) setVersion(ctx context.Context, version string) {
	st := &guardState{version: version}
	if g.native {
		if v, err := storage.ReadOne(ctx, g.store, storage.MustParsePath("/obert")); err == nil {
			if p, ok := compileProgram(toValue(v)); ok {
				st.program = p
			}
		}
	}
	g.state.Store(st)
}

// Decide evaluates the guard. Any failure is a deny wrapped in ErrEvaluation.
func (g *Guard) Decide(ctx context.Context, in Input) (Decision, error) {
	var buf [512]byte
	sum := sha256.Sum256(in.appendJSON(buf[:0]))
	st := g.state.Load()
	d := Decision{ID: g.newID(), PolicyVersion: st.version, InputHash: hex.EncodeToString(sum[:])}
	if st.program != nil {
		// The native program: no evaluator, so nothing to time out, but
		// a caller that has gone still gets a deny, as from OPA.
		if err := ctx.Err(); err != nil {
			d.Reasons = []string{"evaluation-error"}
			return d, fmt.Errorf("%w: %v", ErrEvaluation, err)
		}
		d.Allow, d.Reasons, d.Fields = st.program.decide(&in)
		return d, nil
	}
	return g.decideOPA(ctx, d, in)
}

// decideOPA completes d with OPA's decision on in.
func (g *Guard) decideOPA(ctx context.Context, d Decision, in Input) (Decision, error) {
	// The input goes in as an AST value built directly from the struct, and
	// the decision is read from the result without a JSON round trip: both
	// were a third of a decision's cost.
	rs, err := EvalWithin(ctx, g.timeout, g.query, rego.EvalParsedInput(in.value()), rego.EvalMetrics(noMetrics), rego.EvalBaseCache(noBaseCache{}),
		rego.EvalVirtualCache(noVirtualCache{}))
	if err != nil {
		d.Reasons = []string{"evaluation-error"}
		return d, fmt.Errorf("%w: %v", ErrEvaluation, err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		d.Reasons = []string{"evaluation-undefined"}
		return d, fmt.Errorf("%w: undefined decision", ErrEvaluation)
	}
	out, ok := decisionOf(rs[0].Expressions[0].Value)
	if !ok {
		d.Reasons = []string{"evaluation-malformed"}
		return d, fmt.Errorf("%w: malformed decision", ErrEvaluation)
	}
	d.Allow, d.Reasons = out.Allow, out.Reasons
	if d.Allow {
		d.Fields = out.Fields
	}
	return d, nil
}

type decisionDoc struct {
	Allow           bool
	Reasons, Fields []string
}

// decisionOf reads the policy's decision document, as OPA's own value (the
// query hands it over unconverted, see asTerm); anything not exactly of its
// shape is malformed, and malformed is a deny.
func decisionOf(v any) (decisionDoc, bool) {
	t, ok := v.(*ast.Term)
	if !ok {
		return decisionDoc{}, false
	}
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return decisionDoc{}, false
	}
	var out decisionDoc
	allow, ok := valueOf(obj, keyAllow).(ast.Boolean)
	if !ok {
		return decisionDoc{}, false
	}
	out.Allow = bool(allow)
	reasons, ok := valueOf(obj, keyReasons).(*ast.Array)
	if !ok {
		return decisionDoc{}, false
	}
	fields, ok := valueOf(obj, keyDecisionFields).(ast.Set)
	if !ok {
		return decisionDoc{}, false
	}
	out.Reasons = make([]string, 0, reasons.Len())
	for i := range reasons.Len() {
		s, ok := reasons.Elem(i).Value.(ast.String)
		if !ok {
			return decisionDoc{}, false
		}
		out.Reasons = append(out.Reasons, string(s))
	}
	out.Fields = make([]string, 0, fields.Len())
	for _, t := range fields.Slice() {
		s, ok := t.Value.(ast.String)
		if !ok {
			return decisionDoc{}, false
		}
		out.Fields = append(out.Fields, string(s))
	}
	slices.Sort(out.Fields)
	return out, true
}

// valueOf is obj's value at key, nil when there is none.
func valueOf(obj ast.Object, key *ast.Term) ast.Value {
	if t := obj.Get(key); t != nil {
		return t.Value
	}
	return nil
}

// asTerm hands a query's result over as OPA's value: converting the
// decision to Go maps only to read three keys was a twentieth of a
// decision's allocations.
func asTerm(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

var keyAllow, keyReasons, keyDecisionFields = ast.StringTerm("allow"), ast.StringTerm("reasons"), ast.StringTerm("fields")

// The input's keys, made once: a decision then builds only its values.
// OPA treats ground terms as immutable, so one key term can sit in every
// input object.
var (
	keySubject, keyLoA, keyPurpose, keyRequester, keyConnector, keyCategory = ast.StringTerm("subject"), ast.StringTerm("loa"), ast.StringTerm("purpose"), ast.StringTerm("requester"), ast.StringTerm("connector"), ast.StringTerm("category")
	keySource, keyFields, keyNow, keyConsent, keyLegalBasis, keyID          = ast.StringTerm("source"), ast.StringTerm("requested_fields"), ast.StringTerm("now"), ast.StringTerm("consent"), ast.StringTerm("legal_basis"), ast.StringTerm("id")
	keyObjected, keyLastFetch, keyMinInterval                               = ast.StringTerm("objected"), ast.StringTerm("last_fetch"), ast.StringTerm("min_interval")
	keyPeriod, keyFromYear, keyToYear                                       = ast.StringTerm("period"), ast.StringTerm("from_year"), ast.StringTerm("to_year")
	keyActive, keyExpiresAt                                                 = ast.StringTerm("active"), ast.StringTerm("expires_at")
)

// value is the input as the policy sees it: field for field the JSON form
// of Input, except that the requested fields are a set, as they are (a
// test checks they agree).
func (in Input) value() ast.Value {
	str, cfg := ast.StringTerm, configTerms.term
	rf := ast.NullTerm()
	if in.RequestedField != nil {
		fields := make([]*ast.Term, len(in.RequestedField))
		for i, f := range in.RequestedField {
			fields[i] = cfg(f)
		}
		rf = ast.SetTerm(fields...)
	}
	items := make([][2]*ast.Term, 0, 11)
	items = append(items,
		ast.Item(keySubject, str(in.Subject)),
		ast.Item(keyLoA, cfg(in.LoA)),
		ast.Item(keyPurpose, cfg(in.Purpose)),
		ast.Item(keyRequester, cfg(in.Requester)),
		ast.Item(keyConnector, cfg(in.Connector)),
		ast.Item(keyCategory, cfg(in.Category)),
		ast.Item(keySource, cfg(in.Source)),
		ast.Item(keyFields, rf),
		ast.Item(keyNow, unixTerm(in.Now)),
	)
	if c := in.Consent; c != nil {
		citems := [][2]*ast.Term{
			ast.Item(keyID, str(c.ID)),
			ast.Item(keyCategory, cfg(c.Category)),
			ast.Item(keyPurpose, cfg(c.Purpose)),
			ast.Item(keyRequester, cfg(c.Requester)),
			ast.Item(keySource, cfg(c.Source)),
			ast.Item(keyLegalBasis, cfg(c.LegalBasis)),
			ast.Item(keyActive, ast.BooleanTerm(c.Active)),
			ast.Item(keyExpiresAt, unixTerm(c.ExpiresAt)),
		}
		if c.MinInterval != 0 {
			citems = append(citems, ast.Item(keyMinInterval, unixTerm(c.MinInterval)))
		}
		if c.FromYear != 0 {
			citems = append(citems, ast.Item(keyFromYear, unixTerm(c.FromYear)))
		}
		if c.ToYear != 0 {
			citems = append(citems, ast.Item(keyToYear, unixTerm(c.ToYear)))
		}
		items = append(items, ast.Item(keyConsent, ast.ObjectTerm(citems...)))
	}
	if in.LegalBasis != "" {
		items = append(items, ast.Item(keyLegalBasis, cfg(in.LegalBasis)))
	}
	if in.Objected {
		items = append(items, ast.Item(keyObjected, ast.BooleanTerm(true)))
	}
	if in.LastFetch != 0 {
		items = append(items, ast.Item(keyLastFetch, unixTerm(in.LastFetch)))
	}
	if in.Period != 0 {
		items = append(items, ast.Item(keyPeriod, unixTerm(in.Period)))
	}
	return ast.NewObject(items...)
}

// unixTerm is a Unix time as a number term.
func unixTerm(s int64) *ast.Term {
	return ast.NumberTerm(json.Number(strconv.FormatInt(s, 10)))
}

// configTerms keeps the terms of the input's values that come from
// configuration (levels of assurance, purposes, categories,
// administrations, connectors, fields, legal bases), made once and shared
// by every decision like the keys. It holds at most maxConfigTerms, so
// values from anywhere else cannot grow it without bound; past that a
// term is made per decision as for the subject and the times.
var configTerms termCache

const maxConfigTerms = 4096

type termCache struct {
	m sync.Map // string → *ast.Term
	n atomic.Int64
}

func (c *termCache) term(s string) *ast.Term {
	if t, ok := c.m.Load(s); ok {
		return t.(*ast.Term)
	}
	t := ast.StringTerm(s)
	if c.n.Load() < maxConfigTerms {
		if got, loaded := c.m.LoadOrStore(s, t); loaded {
			return got.(*ast.Term)
		}
		c.n.Add(1)
	}
	return t
}
