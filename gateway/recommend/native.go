package recommend

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	opabuiltins "github.com/open-policy-agent/opa/v1/topdown/builtins"
)

// Native evaluation of aid rules.
//
// The Rego an administration publishes stays the source of truth: it is
// checked, tested and compiled by OPA as before. What OPA's compiler makes
// of each rule is plain three-address code (x = input.facts.tax.income;
// lte(x, 9000, out)), and for the rules aids are written in (comparisons,
// arithmetic, membership, dates), this file runs that code directly, with
// Rego's semantics: an undefined value leaves a criterion undecided, values
// of different types compare in Rego's type order, two rules that give one
// criterion different values are a conflict.
//
// Whatever it does not model exactly it refuses: a rule using a construct
// or built-in not listed here is evaluated by OPA, as is any evaluation that
// meets a value outside what is modelled (an object compared, a number past
// 2^53, a fraction in arithmetic, a conflict), for that aid and that input.
// TestNativeEqualsOPA proves the two equal on every shipped aid, every
// synthetic citizen and thousands of random fact sets.
//
// The programs have no loops (no some, every or comprehensions), so an
// evaluation is bounded by the rule's size: no time budget is needed.

// errFallback is an evaluation native code does not model exactly.
var errFallback = errors.New("recommend: not evaluated natively")

// maxExact is the largest integer every float64 below it holds exactly.
const maxExact = 1 << 53

// nativeAid is one aid's criteria as native programs.
type nativeAid struct {
	id         string
	categories []string
	// catKey is the categories sorted, one set of categories one key: the
	// aids that read the same facts see the same values of the shared
	// helpers, so one recommendation works those out once for them all
	// (planNatives numbers the keys).
	catKey string
	rules  []nativeCriterion // by criterion name
	nRules int               // nullary rules compiled, the size of an evaluation's cache
	// spec gives, for each criterion the aid declares (Aid.Criteria, in
	// order), the index in rules of its rule, or -1.
	spec []int
}

// tri is a criterion's value: undecided, or decided false or true.
type tri int8

const (
	undecided tri = iota
	no
	yes
)

// triFrom is b as a decided value.
func triFrom(b bool) tri {
	if b {
		return yes
	}
	return no
}

type nativeCriterion struct {
	name  string
	rules []*nativeRule
}

// nativeRule is one compiled rule: its body's steps over slots, its value.
type nativeRule struct {
	slots int
	args  []int // a function's parameters, by slot
	steps []step
	value termFn
}

// frame is one rule's evaluation.
type frame struct {
	ev   *nativeEval
	vars []any
}

// nativeEval is one evaluation of one aid for one input.
type nativeEval struct {
	facts   map[string]map[string]any
	cats    []string
	answers map[string]any
	today   string
	cache   []cached // by nullary rule index
	// arena holds the frames' variables and the calls' operands: taken
	// in turn, and given back when the aid's evaluation is done.
	arena []any
	used  int
	// frames are the rules' frames, taken and given back as arena is.
	frames []frame
	nf     int
	// dates are the dates parsed so far in this recommendation, kept from
	// one aid to the next: today and the birth date are parsed once; so
	// is arithmetic on fractions (arith).
	dates map[string]any
	arith map[arithKey]arithResult
}

// start readies ev for a recommendation of s on today, its cache of
// nullary rules' values cache.
func (ev *nativeEval) start(s Situation, today string, cache []cached) {
	clear(cache)
	ev.facts, ev.answers, ev.today, ev.cache, ev.cats = s.Facts, s.Answers, today, cache, nil
}

// frame returns a frame for a rule of n variables.
func (ev *nativeEval) frame(n int) *frame {
	if ev.nf == len(ev.frames) {
		// A new block: frames already taken keep the old one.
		ev.frames, ev.nf = make([]frame, max(64, 2*ev.nf)), 0
	}
	f := &ev.frames[ev.nf]
	ev.nf++
	f.ev, f.vars = ev, ev.take(n)
	return f
}

// take returns n cleared slots of the arena.
func (ev *nativeEval) take(n int) []any {
	if ev.used+n > len(ev.arena) {
		// A new block: slices already taken keep the old one.
		ev.arena, ev.used = make([]any, max(256, 2*n)), 0
	}
	s := ev.arena[ev.used : ev.used+n : ev.used+n]
	ev.used += n
	return s
}

type cached struct {
	done, ok bool
	v        any
	err      error
}

// termFn evaluates a term: ok false when it is undefined.
type termFn func(f *frame) (v any, ok bool, err error)

// step is one expression of a body: false when it does not hold.
type step func(f *frame) (bool, error)

// criteria evaluates every criterion on s (today's date given): the
// criteria decided, true or false, as OPA's evaluation gives them, or
// errFallback.
func (n *nativeAid) criteria(s Situation, today string, cache []cached) (map[string]bool, error) {
	var ev nativeEval
	ev.start(s, today, cache)
	vals, err := n.eval(&ev, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(n.rules))
	for i, c := range n.rules {
		if vals[i] != undecided {
			out[c.name] = vals[i] == yes
		}
	}
	return out, nil
}

// eval evaluates every criterion, by index in n.rules, into vals (reused)
// with ev, started for the input: ev's cache of nullary rules' values is
// kept from one aid to the next, and must be cleared (start) before an
// aid that reads other categories than the one before. Its arena and
// frames are reused.
func (n *nativeAid) eval(ev *nativeEval, vals []tri) ([]tri, error) {
	clear(ev.arena[:ev.used])
	ev.used, ev.nf, ev.cats = 0, 0, n.categories
	vals = slices.Grow(vals[:0], len(n.rules))[:len(n.rules)]
	for i, c := range n.rules {
		v, ok, err := evalRules(ev, c.rules, nil)
		if err != nil {
			return nil, err
		}
		vals[i] = undecided
		if b, isBool := v.(bool); ok && isBool {
			vals[i] = triFrom(b)
		}
	}
	return vals, nil
}

// evalRules evaluates the definitions of one rule (with args, for a
// function) and returns its value; definitions that disagree are a
// conflict, which OPA reports as an error: native code leaves it to OPA.
func evalRules(ev *nativeEval, rules []*nativeRule, args []any) (any, bool, error) {
	var val any
	found := false
	for _, r := range rules {
		v, ok, err := r.eval(ev, args)
		if err != nil {
			return nil, false, err
		}
		if !ok {
			continue
		}
		if found {
			c, err := compare(val, v)
			if err != nil {
				return nil, false, err
			}
			if c != 0 {
				return nil, false, errFallback
			}
			continue
		}
		val, found = v, true
	}
	return val, found, nil
}

func (r *nativeRule) eval(ev *nativeEval, args []any) (any, bool, error) {
	f := ev.frame(r.slots)
	for i, slot := range r.args {
		f.vars[slot] = args[i]
	}
	for _, st := range r.steps {
		ok, err := st(f)
		if err != nil || !ok {
			return nil, false, err
		}
	}
	return r.value(f)
}

// nativeCompiler turns OPA-compiled rules into native programs.
type nativeCompiler struct {
	c      *ast.Compiler
	rules  map[string][]*nativeRule // nullary rules and functions, by path
	index  map[string]int           // nullary rules' cache slots, by path
	active map[string]bool          // paths being compiled
	// An aid's rule reaches, as OPA evaluates it, its own package and the
	// shared helpers only (the others are not in its shard): own is the
	// package of the aid being compiled, helpers the shared ones.
	own     ast.Ref
	helpers []ast.Ref
}

// reaches reports whether the aid being compiled may read path.
func (nc *nativeCompiler) reaches(path ast.Ref) bool {
	if path.HasPrefix(nc.own) {
		return true
	}
	return slices.ContainsFunc(nc.helpers, func(h ast.Ref) bool { return path.HasPrefix(h) })
}

// errUnsupported is a construct native code does not run.
type errUnsupported struct{ what string }

func (e errUnsupported) Error() string { return "native: unsupported " + e.what }

func unsupported(format string, a ...any) error { return errUnsupported{fmt.Sprintf(format, a...)} }

// compileNatives compiles the native program of every aid it can; the
// others are left out (OPA evaluates them). modules are the rule modules,
// compiled here with caps as OPA compiles them.
func compileNatives(aids []Aid, modules map[string]string, caps *ast.Capabilities) map[string]*nativeAid {
	parsed := make(map[string]*ast.Module, len(modules))
	for name, src := range modules {
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil
		}
		parsed[name] = m
	}
	c := ast.NewCompiler().WithCapabilities(caps)
	if c.Compile(parsed); c.Failed() {
		return nil
	}
	nc := &nativeCompiler{c: c, rules: map[string][]*nativeRule{}, index: map[string]int{}, active: map[string]bool{}}
	isAid := map[string]bool{}
	for _, a := range aids {
		isAid[a.ID] = true
	}
	for _, m := range parsed {
		if id := aidOf(m.Package.String() + "\n"); id != "" && !isAid[id] {
			nc.helpers = append(nc.helpers, m.Package.Path)
		}
	}
	out := map[string]*nativeAid{}
	// In the order a recommendation evaluates them (planNatives), so that
	// the programs it runs one after the other lie together in memory.
	for _, a := range slices.SortedStableFunc(slices.Values(aids), func(a, b Aid) int { return strings.Compare(catKey(a), catKey(b)) }) {
		if n, err := nc.aid(a); err == nil {
			out[a.ID] = n
		}
	}
	for _, n := range out {
		n.nRules = len(nc.index)
	}
	return out
}

func (nc *nativeCompiler) aid(a Aid) (*nativeAid, error) {
	pkg := ast.MustParseRef("data.obert.aids." + a.ID)
	nc.own = pkg
	byName := map[string][]*ast.Rule{}
	for _, m := range nc.c.Modules {
		if !m.Package.Path.Equal(pkg) {
			continue
		}
		for _, r := range m.Rules {
			ref := r.Head.Ref()
			if len(ref) == 0 || !ref[0].Equal(ast.VarTerm("criteria")) {
				continue // a helper: compiled when a criterion reaches it
			}
			if len(ref) != 2 {
				return nil, unsupported("criteria head %v", ref)
			}
			name, ok := ref[1].Value.(ast.String)
			if !ok {
				return nil, unsupported("criteria key %v", ref[1])
			}
			byName[string(name)] = append(byName[string(name)], r)
		}
	}
	n := &nativeAid{id: a.ID, categories: a.Categories, catKey: catKey(a)}
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		var rules []*nativeRule
		for _, r := range byName[name] {
			nr, err := nc.rule(r, false)
			if err != nil {
				return nil, err
			}
			rules = append(rules, nr)
		}
		n.rules = append(n.rules, nativeCriterion{name: name, rules: rules})
	}
	for _, c := range a.Criteria {
		n.spec = append(n.spec, slices.IndexFunc(n.rules, func(r nativeCriterion) bool { return r.name == c.Name }))
	}
	return n, nil
}

// catKey is a's categories as a set: sorted, each once.
func catKey(a Aid) string {
	return strings.Join(slices.Compact(slices.Sorted(slices.Values(a.Categories))), "\x00")
}

// rule compiles one definition: a complete rule (a criterion, a nullary
// helper) or, with fn, a function.
func (nc *nativeCompiler) rule(r *ast.Rule, fn bool) (*nativeRule, error) {
	switch {
	case r.Default, r.Else != nil:
		return nil, unsupported("default or else")
	case r.Head.Value == nil:
		return nil, unsupported("partial rule")
	case fn != (len(r.Head.Args) > 0):
		return nil, unsupported("function shape")
	}
	s := &scope{nc: nc, slots: map[ast.Var]int{}, consts: map[int]any{}}
	nr := &nativeRule{}
	for _, a := range r.Head.Args {
		v, ok := a.Value.(ast.Var)
		if !ok {
			return nil, unsupported("function parameter %v", a)
		}
		nr.args = append(nr.args, s.bind(v))
	}
	for _, e := range r.Body {
		st, err := s.expr(e)
		if err != nil {
			return nil, err
		}
		nr.steps = append(nr.steps, st)
	}
	val, err := s.term(r.Head.Value)
	if err != nil {
		return nil, err
	}
	nr.value, nr.slots = val, len(s.slots)
	return nr, nil
}

// scope is the variables of one rule being compiled.
type scope struct {
	nc    *nativeCompiler
	slots map[ast.Var]int
	// consts are the slots whose value is known when compiling: the
	// output of a built-in on constants (8400 * 1.5), folded once.
	consts map[int]any
}

// constant is t's value if it is known when compiling.
func (s *scope) constant(t *ast.Term) (any, bool) {
	switch v := t.Value.(type) {
	case ast.Null:
		return nil, true
	case ast.Boolean:
		return bool(v), true
	case ast.String:
		return string(v), true
	case ast.Number:
		return fromNumber(v), true
	case ast.Var:
		if slot, ok := s.slots[v]; ok {
			c, known := s.consts[slot]
			return c, known
		}
	}
	return nil, false
}

func (s *scope) bind(v ast.Var) int {
	i := len(s.slots)
	s.slots[v] = i
	return i
}

func (s *scope) bound(t *ast.Term) bool {
	v, ok := t.Value.(ast.Var)
	if !ok {
		return true
	}
	_, b := s.slots[v]
	return b
}

// expr compiles one body expression.
func (s *scope) expr(e *ast.Expr) (step, error) {
	if len(e.With) > 0 {
		return nil, unsupported("with")
	}
	switch t := e.Terms.(type) {
	case *ast.Term:
		fn, err := s.term(t)
		if err != nil {
			return nil, err
		}
		return truth(fn, e.Negated), nil
	case []*ast.Term:
		return s.call(t, e.Negated)
	}
	return nil, unsupported("expression %v", e)
}

// truth holds when fn is defined and not false (or, negated, when not).
func truth(fn termFn, negated bool) step {
	return func(f *frame) (bool, error) {
		v, ok, err := fn(f)
		if err != nil {
			return false, err
		}
		holds := ok && v != false
		return holds != negated, nil
	}
}

// call compiles a call expression: an assignment or unification (eq), a
// built-in or a function, with or without an output.
func (s *scope) call(terms []*ast.Term, negated bool) (step, error) {
	op := terms[0].String()
	args := terms[1:]
	if op == ast.Equality.Name {
		return s.eq(args, negated)
	}
	var fn callFn
	arity := 0
	if b, ok := builtins[op]; ok {
		fn, arity = b.fn, b.arity
	} else if ref, ok := terms[0].Value.(ast.Ref); ok && ref.HasPrefix(ast.MustParseRef("data.obert.aids")) && s.nc.reaches(ref) {
		rules, n, err := s.nc.function(ref)
		if err != nil {
			return nil, err
		}
		arity = n
		fn = func(_ *frame, ev *nativeEval, in []any) (any, bool, error) { return evalRules(ev, rules, in) }
	} else {
		return nil, unsupported("built-in %s", op)
	}
	if len(args) != arity && len(args) != arity+1 {
		return nil, unsupported("%s with %d operands", op, len(args))
	}
	ins := make([]termFn, arity)
	for i := range arity {
		t, err := s.term(args[i])
		if err != nil {
			return nil, err
		}
		ins[i] = t
	}
	result := func(f *frame) (any, bool, error) {
		vals := f.ev.take(len(ins))
		for i, in := range ins {
			v, ok, err := in(f)
			if err != nil || !ok {
				return nil, false, err
			}
			vals[i] = v
		}
		return fn(f, f.ev, vals)
	}
	if len(args) == arity {
		return truth(result, negated), nil
	}
	if negated {
		return nil, unsupported("negated call with output")
	}
	out := args[arity]
	if v, ok := out.Value.(ast.Var); ok && !s.bound(out) {
		if b, isBuiltin := builtins[op]; isBuiltin {
			// A built-in of constants is computed here, once.
			vals := make([]any, arity)
			folded := true
			for i := range arity {
				vals[i], folded = s.constant(args[i])
				if !folded {
					break
				}
			}
			if folded {
				r, ok, err := b.fn(nil, nil, vals)
				if err == nil && ok {
					slot := s.bind(v)
					s.consts[slot] = r
					return func(f *frame) (bool, error) { f.vars[slot] = r; return true, nil }, nil
				}
			}
		}
		return assign(s.bind(v), result), nil
	}
	want, err := s.term(out)
	if err != nil {
		return nil, err
	}
	return equalStep(result, want, false), nil
}

// eq is Rego's = after compilation: it binds an unbound variable to the
// other side, or compares two closed terms.
func (s *scope) eq(args []*ast.Term, negated bool) (step, error) {
	if len(args) != 2 {
		return nil, unsupported("= with %d operands", len(args))
	}
	a, b := args[0], args[1]
	if !s.bound(b) && s.bound(a) {
		a, b = b, a
	}
	if v, ok := a.Value.(ast.Var); ok && !s.bound(a) {
		if negated || !s.bound(b) {
			return nil, unsupported("unification %v = %v", a, b)
		}
		rhs, err := s.term(b)
		if err != nil {
			return nil, err
		}
		return assign(s.bind(v), rhs), nil
	}
	lhs, err := s.term(a)
	if err != nil {
		return nil, err
	}
	rhs, err := s.term(b)
	if err != nil {
		return nil, err
	}
	return equalStep(lhs, rhs, negated), nil
}

// assign binds slot to fn's value; it does not hold when fn is undefined.
func assign(slot int, fn termFn) step {
	return func(f *frame) (bool, error) {
		r, ok, err := fn(f)
		if err != nil || !ok {
			return false, err
		}
		f.vars[slot] = r
		return true, nil
	}
}

func equalStep(a, b termFn, negated bool) step {
	return func(f *frame) (bool, error) {
		x, okA, err := a(f)
		if err != nil {
			return false, err
		}
		y, okB, err := b(f)
		if err != nil {
			return false, err
		}
		holds := false
		if okA && okB {
			c, err := compare(x, y)
			if err != nil {
				return false, err
			}
			holds = c == 0
		}
		return holds != negated, nil
	}
}

// term compiles a closed term.
func (s *scope) term(t *ast.Term) (termFn, error) {
	switch v := t.Value.(type) {
	case ast.Null:
		return constant(nil), nil
	case ast.Boolean:
		return constant(bool(v)), nil
	case ast.String:
		return constant(string(v)), nil
	case ast.Number:
		return constant(fromNumber(v)), nil
	case ast.Var:
		slot, ok := s.slots[v]
		if !ok {
			return nil, unsupported("unbound variable %v", v)
		}
		return func(f *frame) (any, bool, error) { return f.vars[slot], true, nil }, nil
	case ast.Set:
		// A set of scalar constants, such as {"08", "17", "25", "43"}.
		var elems []any
		err := v.Iter(func(e *ast.Term) error {
			switch x := e.Value.(type) {
			case ast.Null:
				elems = append(elems, nil)
			case ast.Boolean:
				elems = append(elems, bool(x))
			case ast.String:
				elems = append(elems, string(x))
			case ast.Number:
				elems = append(elems, fromNumber(x))
			default:
				return unsupported("set element %v", e)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return constant(set(elems)), nil
	case *ast.Array:
		elems := make([]termFn, v.Len())
		for i := range v.Len() {
			e, err := s.term(v.Elem(i))
			if err != nil {
				return nil, err
			}
			elems[i] = e
		}
		return func(f *frame) (any, bool, error) {
			out := make([]any, len(elems))
			for i, e := range elems {
				x, ok, err := e(f)
				if err != nil || !ok {
					return nil, false, err
				}
				out[i] = x
			}
			return out, true, nil
		}, nil
	case ast.Ref:
		return s.ref(v)
	}
	return nil, unsupported("term %v", t)
}

func constant(v any) termFn {
	return func(*frame) (any, bool, error) { return v, true, nil }
}

// set is a Rego set of scalars.
type set []any

// ref compiles a reference: into the input, to a nullary rule, or into a
// variable's value, with constant or variable indices after it.
func (s *scope) ref(r ast.Ref) (termFn, error) {
	head, _ := r[0].Value.(ast.Var)
	var base termFn
	rest := r[1:]
	switch {
	case head == ast.InputRootDocument.Value.(ast.Var):
		var path []string
		for len(rest) > 0 {
			k, ok := rest[0].Value.(ast.String)
			if !ok {
				break
			}
			path, rest = append(path, string(k)), rest[1:]
		}
		base = inputRef(path)
	case head == ast.DefaultRootDocument.Value.(ast.Var):
		n := len(r)
		for ; n > 1; n-- {
			if len(s.nc.c.GetRulesExact(r[:n])) > 0 {
				break
			}
		}
		if n <= 1 || !s.nc.reaches(r[:n]) {
			return nil, unsupported("reference %v", r)
		}
		fn, err := s.nc.nullary(r[:n])
		if err != nil {
			return nil, err
		}
		base, rest = fn, r[n:]
	default:
		fn, err := s.term(ast.NewTerm(head))
		if err != nil {
			return nil, err
		}
		base = fn
	}
	for _, k := range rest {
		key, err := s.term(k)
		if err != nil {
			return nil, err
		}
		base = index(base, key)
	}
	return base, nil
}

// index is x[k]: an array's element or an object's value; undefined when
// there is none.
func index(x, k termFn) termFn {
	return func(f *frame) (any, bool, error) {
		v, ok, err := x(f)
		if err != nil || !ok {
			return nil, false, err
		}
		key, ok, err := k(f)
		if err != nil || !ok {
			return nil, false, err
		}
		switch c := v.(type) {
		case []any:
			i, isNum := key.(float64)
			if !isNum || i != math.Trunc(i) || i < 0 || int(i) >= len(c) {
				return nil, false, nil
			}
			return c[int(i)], true, nil
		case map[string]any:
			ks, isStr := key.(string)
			if !isStr {
				return nil, false, nil
			}
			e, ok := c[ks]
			if !ok {
				return nil, false, nil
			}
			return normal(e)
		case set:
			for _, e := range c {
				if n, err := compare(e, key); err != nil {
					return nil, false, err
				} else if n == 0 {
					return e, true, nil
				}
			}
			return nil, false, nil
		}
		return nil, false, nil
	}
}

// inputRef reads the input at path, as the aid sees it: today, the
// answers and the facts of the categories it declares.
func inputRef(path []string) termFn {
	// The path's head is known when compiling: each kind reads its part
	// of the input directly.
	var head func(ev *nativeEval) (any, bool, error)
	var rest []string
	switch {
	case len(path) == 0:
		return func(*frame) (any, bool, error) { return nil, false, errFallback } // the whole input as a value
	case path[0] == "today":
		head, rest = func(ev *nativeEval) (any, bool, error) { return ev.today, true, nil }, path[1:]
	case path[0] == "answers":
		head, rest = func(ev *nativeEval) (any, bool, error) {
			if ev.answers == nil {
				return nil, false, errFallback // OPA sees null here
			}
			return ev.answers, true, nil
		}, path[1:]
	case path[0] == "facts" && len(path) == 1:
		return func(*frame) (any, bool, error) { return nil, false, errFallback }
	case path[0] == "facts":
		cat := path[1]
		head, rest = func(ev *nativeEval) (any, bool, error) {
			if !slices.Contains(ev.cats, cat) {
				return nil, false, nil
			}
			fs, ok := ev.facts[cat]
			if !ok {
				return nil, false, nil
			}
			return map[string]any(fs), true, nil
		}, path[2:]
	default:
		return func(*frame) (any, bool, error) { return nil, false, nil }
	}
	return func(f *frame) (any, bool, error) {
		v, ok, err := head(f.ev)
		if !ok || err != nil {
			return nil, false, err
		}
		for _, k := range rest {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false, nil
			}
			if v, ok = m[k]; !ok {
				return nil, false, nil
			}
		}
		return normal(v)
	}
}

// normal is an input value as native code holds it: numbers as float64
// (exact integers below 2^53, or any float64), strings, booleans, null,
// arrays and objects of those.
func normal(v any) (any, bool, error) {
	switch x := v.(type) {
	case nil, bool, string, float64, map[string]any:
		return v, true, nil // as it is: boxed again, a number would cost an allocation
	case int:
		if x >= maxExact || x <= -maxExact {
			return nil, false, errFallback
		}
		return box(float64(x)), true, nil
	case int64:
		if x >= maxExact || x <= -maxExact {
			return nil, false, errFallback
		}
		return box(float64(x)), true, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, _, err := normal(e)
			if err != nil {
				return nil, false, err
			}
			out[i] = n
		}
		return out, true, nil
	}
	return nil, false, errFallback
}

// nullary compiles the rule at path (a helper such as lib.age) and returns
// its value, computed once per evaluation.
func (nc *nativeCompiler) nullary(path ast.Ref) (termFn, error) {
	key := path.String()
	rules, err := nc.compileRules(path, false)
	if err != nil {
		return nil, err
	}
	i, ok := nc.index[key]
	if !ok {
		i = len(nc.index)
		nc.index[key] = i
	}
	return func(f *frame) (any, bool, error) {
		c := &f.ev.cache[i]
		if !c.done {
			c.v, c.ok, c.err = evalRules(f.ev, rules, nil)
			c.done = true
		}
		return c.v, c.ok, c.err
	}, nil
}

// function compiles the function at path and returns its definitions and
// arity.
func (nc *nativeCompiler) function(path ast.Ref) ([]*nativeRule, int, error) {
	rules, err := nc.compileRules(path, true)
	if err != nil {
		return nil, 0, err
	}
	n := len(rules[0].args)
	for _, r := range rules {
		if len(r.args) != n {
			return nil, 0, unsupported("function arities")
		}
	}
	return rules, n, nil
}

func (nc *nativeCompiler) compileRules(path ast.Ref, fn bool) ([]*nativeRule, error) {
	key := path.String()
	if rs, ok := nc.rules[key]; ok {
		return rs, nil
	}
	if nc.active[key] {
		return nil, unsupported("recursion")
	}
	nc.active[key] = true
	defer delete(nc.active, key)
	var out []*nativeRule
	for _, r := range nc.c.GetRulesExact(path) {
		if len(r.Head.Ref()) != 1 {
			// A rule of an object (criteria["x"]) read whole.
			return nil, unsupported("object rule %v", path)
		}
		nr, err := nc.rule(r, fn)
		if err != nil {
			return nil, err
		}
		out = append(out, nr)
	}
	if len(out) == 0 {
		return nil, unsupported("no rule at %v", path)
	}
	nc.rules[key] = out
	return out, nil
}

// Numbers are held as float64 when they are integers below 2^53, where
// float64 arithmetic and comparison are exact, and otherwise as OPA holds
// them (ast.Number), computed by OPA's own arithmetic (arith).

// boxed are the small integers as interface values, made once: most
// numbers a rule computes (ages, months, counts) are among them, and a
// float64 put in an interface otherwise costs an allocation.
var boxed = func() []any {
	out := make([]any, 4096)
	for i := range out {
		out[i] = float64(i)
	}
	return out
}()

func box(f float64) any {
	if f >= 0 && f < float64(len(boxed)) && f == math.Trunc(f) {
		return boxed[int(f)]
	}
	return f
}

// fromNumber is n as native code holds it.
func fromNumber(n ast.Number) any {
	if i, ok := n.Int64(); ok && i < maxExact && i > -maxExact {
		return box(float64(i))
	}
	return n
}

// toNumber is a native number as OPA holds it: a float64 from the input
// as OPA converts it (ast.InterfaceToValue).
func toNumber(v any) (ast.Number, bool) {
	switch x := v.(type) {
	case float64:
		return ast.Number(strconv.FormatFloat(x, 'g', -1, 64)), true
	case ast.Number:
		return x, true
	}
	return "", false
}

// The arithmetic built-ins, and a memo of their results on fractions.
const (
	opPlus byte = iota
	opMinus
	opMultiply
	opDivide
	opRem
)

type arithKey struct {
	op   byte
	a, b any // float64 or ast.Number, see memoable
}

// memoable is a number that may key the memo of arithmetic: a float64
// other than -0 (which is equal to 0 as a key, but not as an operand), or
// a number OPA computed (ast.Number, its text).
func memoable(v any) bool {
	switch x := v.(type) {
	case float64:
		return x != 0 || !math.Signbit(x)
	case ast.Number:
		return true
	}
	return false
}

type arithResult struct {
	v  any
	ok bool
}

func integral(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok && f == math.Trunc(f) && math.Abs(f) < maxExact
}

// compare orders two values as Rego does: by type (null, boolean, number,
// string, array), then by value. Objects and sets are left to OPA.
func compare(a, b any) (int, error) {
	ta, err := typeOrder(a)
	if err != nil {
		return 0, err
	}
	tb, err := typeOrder(b)
	if err != nil {
		return 0, err
	}
	if ta != tb {
		return ta - tb, nil
	}
	switch x := a.(type) {
	case nil:
		return 0, nil
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0, nil
		case !x:
			return -1, nil
		}
		return 1, nil
	case float64, ast.Number:
		if y, ok := b.(float64); ok {
			if x, ok := a.(float64); ok {
				switch {
				case x < y:
					return -1, nil
				case x > y:
					return 1, nil
				case x == y:
					return 0, nil
				}
				return 0, errFallback // NaN: not from JSON
			}
		}
		na, _ := toNumber(a)
		nb, _ := toNumber(b)
		return ast.NumberCompare(na, nb), nil
	case string:
		return strings.Compare(x, b.(string)), nil
	case []any:
		y := b.([]any)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c, err := compare(x[i], y[i]); err != nil || c != 0 {
				return c, err
			}
		}
		return len(x) - len(y), nil
	}
	return 0, errFallback
}

func typeOrder(v any) (int, error) {
	switch v.(type) {
	case nil:
		return 0, nil
	case bool:
		return 1, nil
	case float64, ast.Number:
		return 2, nil
	case string:
		return 3, nil
	case []any:
		return 7, nil
	}
	return 0, errFallback
}

// callFn is a built-in or function over evaluated operands.
type callFn func(f *frame, ev *nativeEval, in []any) (any, bool, error)

type builtin struct {
	arity int
	fn    callFn
}

// builtins are the built-ins native code runs, each as OPA's does; an
// operand of the wrong type makes the call undefined, as a type error does
// in OPA's evaluation.
var builtins = map[string]builtin{
	ast.Equal.Name:         {2, cmp(func(c int) bool { return c == 0 })},
	ast.NotEqual.Name:      {2, cmp(func(c int) bool { return c != 0 })},
	ast.LessThan.Name:      {2, cmp(func(c int) bool { return c < 0 })},
	ast.LessThanEq.Name:    {2, cmp(func(c int) bool { return c <= 0 })},
	ast.GreaterThan.Name:   {2, cmp(func(c int) bool { return c > 0 })},
	ast.GreaterThanEq.Name: {2, cmp(func(c int) bool { return c >= 0 })},
	ast.Plus.Name:          {2, arith(opPlus, func(a, b float64) (float64, bool) { return a + b, true }, (*big.Int).Add, (*big.Float).Add)},
	ast.Minus.Name:         {2, arith(opMinus, func(a, b float64) (float64, bool) { return a - b, true }, (*big.Int).Sub, (*big.Float).Sub)},
	ast.Multiply.Name:      {2, arith(opMultiply, func(a, b float64) (float64, bool) { return a * b, true }, (*big.Int).Mul, (*big.Float).Mul)},
	// Division is exact on integers only when the divisor divides a
	// non-zero dividend; otherwise OPA divides in a big.Float.
	ast.Divide.Name:     {2, arith(opDivide, func(a, b float64) (float64, bool) { return a / b, b != 0 && a != 0 && math.Mod(a, b) == 0 }, nil, quo)},
	ast.Rem.Name:        {2, arith(opRem, func(a, b float64) (float64, bool) { return math.Mod(a, b), b != 0 }, rem, nil)},
	ast.Member.Name:     {2, member},
	ast.Count.Name:      {1, count},
	ast.Substring.Name:  {3, substring},
	ast.StartsWith.Name: {2, strs(strings.HasPrefix)},
	ast.EndsWith.Name:   {2, strs(strings.HasSuffix)},
	ast.Contains.Name:   {2, strs(strings.Contains)},
	ast.ParseNanos.Name: {2, parseNanos},
	ast.Diff.Name:       {2, timeDiff},
	ast.Lower.Name:      {1, str(strings.ToLower)},
	ast.Upper.Name:      {1, str(strings.ToUpper)},
}

func cmp(holds func(int) bool) callFn {
	return func(_ *frame, _ *nativeEval, in []any) (any, bool, error) {
		c, err := compare(in[0], in[1])
		if err != nil {
			return nil, false, err
		}
		return holds(c), true, nil
	}
}

// arith is an arithmetic built-in as OPA computes it: integers exactly,
// anything else in a big.Float (OPA's code path, with its precision and its
// text form between operations). Sets (minus is also set difference) are
// left to OPA.
func arith(op byte, exact func(a, b float64) (float64, bool), exactBig func(z, x, y *bigInt) *bigInt, float func(z, x, y *bigFloat) *bigFloat) callFn {
	// slow is what is not exact in a float64: sets, integers past 2^53,
	// and any result that is not an integer, through OPA's big numbers
	// and their text form.
	slow := func(in []any) (any, bool, error) {
		_, sa := in[0].(set)
		_, sb := in[1].(set)
		if sa || sb {
			return nil, false, errFallback
		}
		n1, ok1 := toNumber(in[0])
		n2, ok2 := toNumber(in[1])
		if !ok1 || !ok2 {
			return nil, false, nil // a type error in OPA: undefined
		}
		if exactBig != nil {
			// Integers past 2^53: OPA's exact path.
			if x, err := opabuiltins.NumberToInt(n1); err == nil {
				if y, err := opabuiltins.NumberToInt(n2); err == nil {
					r := exactBig(new(bigInt), x, y)
					if r == nil {
						return nil, false, nil
					}
					return fromNumber(opabuiltins.IntToNumber(r)), true, nil
				}
			}
		}
		if float == nil {
			return nil, false, nil // rem of a fraction, or by zero
		}
		x, y := opabuiltins.NumberToFloat(n1), opabuiltins.NumberToFloat(n2)
		z := float(new(bigFloat), x, y)
		if z == nil {
			return nil, false, nil // division by zero
		}
		return fromNumber(opabuiltins.FloatToNumber(z)), true, nil
	}
	return func(_ *frame, ev *nativeEval, in []any) (any, bool, error) {
		if a, ok := integral(in[0]); ok {
			if b, ok := integral(in[1]); ok {
				// A true result below 2^53 is exact in a float64; one at
				// or past it rounds to at least 2^53.
				if r, ok := exact(a, b); ok && math.Abs(r) < maxExact {
					return box(r + 0), true, nil // +0: no negative zero
				}
			}
		}
		if ev == nil || !memoable(in[0]) || !memoable(in[1]) {
			return slow(in)
		}
		// The slow path costs: each pair of numbers is worked out once in
		// a recommendation (the same income divided by the same household
		// for every aid that asks).
		k := arithKey{op, in[0], in[1]}
		if r, ok := ev.arith[k]; ok {
			return r.v, r.ok, nil
		}
		v, ok, err := slow(in)
		if err == nil {
			if ev.arith == nil {
				ev.arith = map[arithKey]arithResult{}
			}
			ev.arith[k] = arithResult{v, ok}
		}
		return v, ok, err
	}
}

type (
	bigInt   = big.Int
	bigFloat = big.Float
)

func rem(z, x, y *bigInt) *bigInt {
	if y.Sign() == 0 {
		return nil
	}
	return z.Rem(x, y)
}

func quo(z, x, y *bigFloat) *bigFloat {
	if i, acc := y.Int64(); acc == big.Exact && i == 0 {
		return nil
	}
	return z.Quo(x, y)
}

func member(_ *frame, _ *nativeEval, in []any) (any, bool, error) {
	var elems []any
	switch c := in[1].(type) {
	case set:
		elems = c
	case []any:
		elems = c
	case map[string]any:
		return nil, false, errFallback
	default:
		return false, true, nil
	}
	for _, e := range elems {
		n, err := compare(in[0], e)
		if err != nil {
			return nil, false, err
		}
		if n == 0 {
			return true, true, nil
		}
	}
	return false, true, nil
}

func count(_ *frame, _ *nativeEval, in []any) (any, bool, error) {
	switch c := in[0].(type) {
	case string:
		return box(float64(utf8.RuneCountInString(c))), true, nil
	case []any:
		return box(float64(len(c))), true, nil
	case set:
		return box(float64(len(c))), true, nil
	case map[string]any:
		return box(float64(len(c))), true, nil
	}
	return nil, false, nil
}

func substring(_ *frame, _ *nativeEval, in []any) (any, bool, error) {
	s, ok := in[0].(string)
	start, okS := intOperand(in[1])
	length, okL := intOperand(in[2])
	if !ok || !okS || !okL || start < 0 {
		return nil, false, nil
	}
	runes := []rune(s)
	if start >= len(runes) {
		return "", true, nil
	}
	if length < 0 {
		return string(runes[start:]), true, nil
	}
	return string(runes[start : start+min(length, len(runes)-start)]), true, nil
}

// intOperand is a number as OPA's built-ins take an integer operand: an
// integer that fits an int64, as the input's numbers reach a rule after
// their JSON round trip (the per-aid Evaluator's path), so that a
// fraction or a number past int64 is a type error (undefined), as in OPA,
// and never an index out of range here.
func intOperand(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || x >= math.MaxInt64 || x < math.MinInt64 {
			return 0, false
		}
		return int(x), true
	case ast.Number:
		return x.Int()
	}
	return 0, false
}

func strs(op func(a, b string) bool) callFn {
	return func(_ *frame, _ *nativeEval, in []any) (any, bool, error) {
		a, okA := in[0].(string)
		b, okB := in[1].(string)
		if !okA || !okB {
			return nil, false, nil
		}
		return op(a, b), true, nil
	}
}

func str(op func(string) string) callFn {
	return func(_ *frame, _ *nativeEval, in []any) (any, bool, error) {
		a, ok := in[0].(string)
		if !ok {
			return nil, false, nil
		}
		return op(a), true, nil
	}
}

// parseNanos is time.parse_ns for dates (layout 2006-01-02): other layouts
// are left to OPA.
func parseNanos(_ *frame, ev *nativeEval, in []any) (any, bool, error) {
	layout, okL := in[0].(string)
	s, okS := in[1].(string)
	if !okL || !okS {
		return nil, false, nil
	}
	if layout != time.DateOnly {
		return nil, false, errFallback
	}
	if ev != nil {
		if v, ok := ev.dates[s]; ok {
			return v, v != nil, nil
		}
	}
	var v any
	t, err := time.Parse(time.DateOnly, s)
	if err == nil && !t.Before(time.Unix(0, math.MinInt64)) && !t.After(time.Unix(0, math.MaxInt64)) {
		// A day's nanoseconds are a multiple of 2^14: exact in a float64.
		v = float64(t.UnixNano())
	}
	if ev != nil {
		if ev.dates == nil {
			ev.dates = map[string]any{}
		}
		ev.dates[s] = v
	}
	return v, v != nil, nil
}

// timeDiff is time.diff of two instants in nanoseconds, in UTC: years,
// months, days, hours, minutes and seconds, as OPA computes it.
func timeDiff(_ *frame, _ *nativeEval, in []any) (any, bool, error) {
	var ts [2]time.Time
	for i, v := range in {
		switch n := v.(type) {
		case float64:
			if n != math.Trunc(n) || n >= math.MaxInt64 || n < math.MinInt64 {
				return nil, false, nil
			}
			ts[i] = time.Unix(0, int64(n)).UTC()
		case []any:
			return nil, false, errFallback // [ns, zone]
		default:
			return nil, false, nil
		}
	}
	t1, t2 := ts[0], ts[1]
	if t1.After(t2) {
		t1, t2 = t2, t1
	}
	y1, m1, d1 := t1.Date()
	y2, m2, d2 := t2.Date()
	h1, mi1, s1 := t1.Clock()
	h2, mi2, s2 := t2.Clock()
	year, month, day := y2-y1, int(m2-m1), d2-d1
	hour, minute, sec := h2-h1, mi2-mi1, s2-s1
	if sec < 0 {
		sec += 60
		minute--
	}
	if minute < 0 {
		minute += 60
		hour--
	}
	if hour < 0 {
		hour += 24
		day--
	}
	if day < 0 {
		t := time.Date(y1, m1, 32, 0, 0, 0, 0, time.UTC)
		day += 32 - t.Day()
		month--
	}
	if month < 0 {
		month += 12
		year--
	}
	return []any{box(float64(year)), box(float64(month)), box(float64(day)), box(float64(hour)), box(float64(minute)), box(float64(sec))}, true, nil
}
