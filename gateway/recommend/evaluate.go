package recommend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/obert-gov/obert/policy"
)

// Evaluator evaluates one aid for many citizens: a background sweep after
// the aid is published compiles it once and asks it for each citizen.
type Evaluator struct {
	aid     Aid
	version string
	query   rego.PreparedEvalQuery
	native  *nativeAid // nil: OPA evaluates it
	now     func() time.Time
}

// Aid is the aid evaluated.
func (ev *Evaluator) Aid() Aid { return ev.aid }

// Version is the aid's version (see Recommender.Version).
func (ev *Evaluator) Version() string { return ev.version }

// Evaluate returns the aid's verdict for s. An aid outside its validity
// window is not eligible for anyone; one whose rule runs past AidBudget on
// s's data is ErrTooSlow.
func (ev *Evaluator) Evaluate(ctx context.Context, s Situation) (Result, error) {
	today := ev.now().UTC().Format(time.DateOnly)
	if !ev.aid.validOn(today) {
		return Result{Aid: ev.aid, Status: NotEligible}, nil
	}
	if ev.native != nil {
		met, err := ev.native.criteria(s, today, make([]cached, ev.native.nRules))
		if err == nil {
			return verdict(ev.aid, met), nil
		}
		if !errors.Is(err, errFallback) {
			return Result{}, err
		}
	}
	met, err := ev.criteria(ctx, s)
	if err != nil {
		return Result{}, err
	}
	return verdict(ev.aid, met), nil
}

// criteria evaluates the aid's criteria on s within AidBudget.
func (ev *Evaluator) criteria(ctx context.Context, s Situation) (map[string]bool, error) {
	facts := s.Facts
	if facts == nil {
		facts = map[string]map[string]any{}
	}
	// The rule sees only the categories its aid declares (view.go).
	in := map[string]any{"facts": only(facts, ev.aid.Categories), "answers": s.Answers, "today": ev.now().UTC().Format(time.DateOnly)}
	rs, err := policy.EvalWithin(ctx, AidBudget, ev.query, rego.EvalInput(in))
	if policy.Cancelled(err) && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: %s", ErrTooSlow, ev.aid.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("recommend: evaluate %s: %w", ev.aid.ID, err)
	}
	var met map[string]bool
	if len(rs) == 1 && len(rs[0].Expressions) == 1 {
		met = bools(rs[0].Expressions[0].Value)
	}
	return met, nil
}

// Evaluator compiles the evaluation of aid id, once per version of the
// catalogue: later calls return the same one until the catalogue changes.
func (r *Recommender) Evaluator(ctx context.Context, id string) (*Evaluator, error) {
	r.mu.RLock()
	ev, ok := r.evaluators[id]
	aid, found := r.find(id)
	mods, v, caps, native := r.modules, r.versions[id], r.caps, r.natives[id]
	r.mu.RUnlock()
	if ok {
		return ev, nil
	}
	if !found {
		return nil, fmt.Errorf("recommend: no aid %q", id)
	}
	opts := []func(*rego.Rego){rego.Query("data.obert.aids." + id + ".criteria"), rego.Capabilities(caps)}
	for n, src := range mods {
		opts = append(opts, rego.Module(n, src))
	}
	q, err := rego.New(opts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("recommend: compile %s: %w", id, err)
	}
	ev = &Evaluator{aid: aid, version: v, query: q, native: native, now: r.now}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.versions[id] == v { // the catalogue did not change meanwhile
		r.evaluators[id] = ev
	}
	return ev, nil
}

// Version identifies the published form of aid id (its entry and its
// rule): a change to either is a new version. It is "" for no such aid.
func (r *Recommender) Version(id string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.versions[id]
}

// find returns the aid with id; r.mu must be held.
func (r *Recommender) find(id string) (Aid, bool) {
	for _, a := range r.aids {
		if a.ID == id {
			return a, true
		}
	}
	return Aid{}, false
}

func version(a Aid, rule string) string {
	h := sha256.New()
	b, _ := json.Marshal(a)
	h.Write(b)
	h.Write([]byte(rule))
	return hex.EncodeToString(h.Sum(nil))[:16]
}
