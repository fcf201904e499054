package recommend

import (
	"fmt"
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Check reads what an administration's Rego reads and calls from its
// syntax, before anything runs, and names the cause of a refusal. What this
// misses is still held at compile time by the pure capabilities and at
// evaluation by the shards, which give each aid only its declared facts.

// reach is what one module of a publication may read.
type reach struct {
	what       string              // "rule" or "tests", the start of each problem
	packages   []string            // the aid packages under data.obert.aids it may read, besides the helpers
	categories []string            // the fact categories the aid declares
	helpers    map[string][]string // the categories each shared helper reads
	pure       map[string]bool     // the built-ins it may call
}

// vet lists what module m reads or calls beyond r, one problem per cause
// (at its first line).
func vet(m *ast.Module, r reach) []string {
	v := &vetter{reach: r, aliases: map[ast.Var]ast.Ref{}, seen: map[string]bool{}}
	for _, imp := range m.Imports {
		path, ok := imp.Path.Value.(ast.Ref)
		if _, root := imp.Path.Value.(ast.Var); root {
			path, ok = ast.Ref{imp.Path}, true
		}
		if !ok || !(path[0].Equal(ast.DefaultRootDocument) || path[0].Equal(ast.InputRootDocument)) {
			continue // rego.v1, future.keywords
		}
		alias := imp.Alias
		if alias == "" {
			if s, ok := path[len(path)-1].Value.(ast.String); ok {
				alias = ast.Var(s)
			} else {
				alias = path[0].Value.(ast.Var)
			}
		}
		v.aliases[alias] = path
	}
	for _, rule := range m.Rules {
		v.walk(rule)
	}
	return v.problems
}

type vetter struct {
	reach
	aliases  map[ast.Var]ast.Ref // imports, by the name they bind
	seen     map[string]bool
	problems []string
}

func (v *vetter) bad(loc *ast.Location, format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if v.seen[msg] {
		return
	}
	v.seen[msg] = true
	line := ""
	if loc != nil {
		line = fmt.Sprintf("line %d: ", loc.Row)
	}
	v.problems = append(v.problems, v.what+": "+line+msg)
}

func (v *vetter) walk(x any) { ast.NewGenericVisitor(v.visit).Walk(x) }

func (v *vetter) visit(x any) bool {
	switch x := x.(type) {
	case *ast.Head:
		// The rule's own name is not a read; its keys and value may be.
		for _, t := range x.Ref()[1:] {
			v.walk(t)
		}
		for _, t := range x.Args {
			v.walk(t)
		}
		if x.Key != nil {
			v.walk(x.Key)
		}
		if x.Value != nil {
			v.walk(x.Value)
		}
		return true
	case *ast.With:
		// Replacing the input (how tests give facts) reads nothing;
		// replacing data is held to the same bounds as reading it.
		if ref, ok := v.resolve(x.Target); ok && ref[0].Equal(ast.DefaultRootDocument) {
			v.data(ref, x.Target.Location)
		}
		v.walk(x.Value)
		return true
	case *ast.Term:
		ref, ok := v.resolve(x)
		if !ok {
			return false
		}
		switch {
		case ref[0].Equal(ast.DefaultRootDocument):
			v.data(ref, x.Location)
		case ref[0].Equal(ast.InputRootDocument):
			v.input(ref, x.Location)
		default:
			// A call's operator is a ref: http.send, net.lookup_ip_addr.
			if name := ref.String(); ast.BuiltinMap[name] != nil && !v.pure[name] {
				v.bad(x.Location, "calls %s, which aid rules and tests may not use (only pure built-ins)", name)
			}
		}
		// The rest of a ref may read too: input.facts[data.x].
		if r, ok := x.Value.(ast.Ref); ok {
			if _, isVar := r[0].Value.(ast.Var); !isVar {
				v.walk(r[0])
			}
			for _, t := range r[1:] {
				v.walk(t)
			}
		}
		return true
	}
	return false
}

// resolve returns the ref that term t stands for, with an import's name
// replaced by what it imports; ok is false for anything but a ref or a
// variable that names an import or a root document.
func (v *vetter) resolve(t *ast.Term) (ast.Ref, bool) {
	switch x := t.Value.(type) {
	case ast.Ref:
		if h, ok := x[0].Value.(ast.Var); ok {
			if path, ok := v.aliases[h]; ok {
				return path.Concat(x[1:]), true
			}
		}
		return x, true
	case ast.Var:
		if path, ok := v.aliases[x]; ok {
			return path, true
		}
		if x.Equal(ast.DefaultRootDocument.Value) || x.Equal(ast.InputRootDocument.Value) {
			return ast.Ref{t}, true
		}
	}
	return nil, false
}

var (
	obertTerm = ast.StringTerm("obert")
	aidsTerm  = ast.StringTerm("aids")
)

// data allows the module's own packages and, by name, the shared helpers,
// whose categories the aid must declare.
func (v *vetter) data(ref ast.Ref, loc *ast.Location) {
	if len(ref) >= 4 && ref[1].Equal(obertTerm) && ref[2].Equal(aidsTerm) {
		pkg, _ := ref[3].Value.(ast.String)
		if pkg != "" && slices.Contains(v.packages, string(pkg)) {
			return
		}
		if pkg == "lib" && len(ref) >= 5 {
			if h, ok := ref[4].Value.(ast.String); ok {
				for _, c := range v.helpers[string(h)] {
					if !slices.Contains(v.categories, c) {
						v.bad(loc, "reads category %q through lib.%s, which the aid does not declare", c, string(h))
					}
				}
				return
			}
		}
	}
	v.bad(loc, "reads %s; an aid may read only its own package and the shared helpers by name (data.obert.aids.lib.<helper>)", ref[:min(len(ref), 4)])
}

// input allows input.today, input.answers.<name> and
// input.facts.<declared category>: anything that reads input as a whole or
// by a computed key could reach a category the aid did not declare.
func (v *vetter) input(ref ast.Ref, loc *ast.Location) {
	var key, sub ast.String
	if len(ref) >= 2 {
		key, _ = ref[1].Value.(ast.String)
	}
	if len(ref) >= 3 {
		sub, _ = ref[2].Value.(ast.String)
	}
	switch {
	case key == "today":
	case key == "answers" && sub != "":
	case key == "facts" && sub != "":
		if !slices.Contains(v.categories, string(sub)) {
			v.bad(loc, "reads category %q, which the aid does not declare", string(sub))
		}
	case key == "facts":
		v.bad(loc, "reads input.facts as a whole or with a computed key; name each category (input.facts.<category>)")
	case key == "answers":
		v.bad(loc, "reads input.answers as a whole or with a computed key; name each answer")
	case key == "":
		v.bad(loc, "reads input as a whole or with a computed key (as in f := input, walk(input, …) or object.get(input, …)); name what it reads: input.facts.<category>, input.answers.<name> or input.today")
	default:
		v.bad(loc, "reads input.%s; the input holds only today, answers and facts", string(key))
	}
}

// helperCategories returns the fact categories each rule of the shared
// helpers module reads, directly or through its other rules, so that a
// helper added to lib.rego needs no second edit.
func helperCategories(lib *ast.Module) (map[string][]string, error) {
	name := func(r *ast.Rule) string { return r.Head.Ref()[0].Value.(ast.Var).String() }
	rules := map[string]bool{}
	for _, r := range lib.Rules {
		rules[name(r)] = true
	}
	reads, uses := map[string]map[string]bool{}, map[string]map[string]bool{}
	var err error
	for _, r := range lib.Rules {
		n := name(r)
		if reads[n] == nil {
			reads[n], uses[n] = map[string]bool{}, map[string]bool{}
		}
		ast.WalkTerms(r, func(t *ast.Term) bool {
			switch x := t.Value.(type) {
			case ast.Var:
				if rules[string(x)] && string(x) != n {
					uses[n][string(x)] = true
				}
			case ast.Ref:
				if len(x) >= 2 && x[0].Equal(ast.InputRootDocument) && x[1].Equal(ast.StringTerm("facts")) {
					s, ok := ast.String(""), len(x) >= 3
					if ok {
						s, ok = x[2].Value.(ast.String)
					}
					if !ok {
						err = fmt.Errorf("recommend: helper %s reads input.facts with a computed key", n)
						return true
					}
					reads[n][string(s)] = true
				}
			}
			return false
		})
	}
	if err != nil {
		return nil, err
	}
	// Through other helpers, until nothing changes.
	for changed := true; changed; {
		changed = false
		for n, used := range uses {
			for u := range used {
				for c := range reads[u] {
					if !reads[n][c] {
						reads[n][c], changed = true, true
					}
				}
			}
		}
	}
	out := make(map[string][]string, len(reads))
	for n, cs := range reads {
		out[n] = slices.Sorted(maps.Keys(cs))
	}
	return out, nil
}
