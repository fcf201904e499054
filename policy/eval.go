package policy

import (
	"context"
	"errors"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Eval evaluates q, stopped when ctx ends. Left to itself OPA starts a
// goroutine per evaluation to watch ctx; a context callback does the same
// without one, which counts when a sweep evaluates a rule for every
// subscriber. A cancelled evaluation returns an error.
func Eval(ctx context.Context, q rego.PreparedEvalQuery, opts ...rego.EvalOption) (rego.ResultSet, error) {
	return EvalWithin(ctx, 0, q, opts...)
}

// EvalWithin is Eval stopped also after timeout, when it is positive: one
// timer, where a context with a deadline would make a timer and the
// context's own bookkeeping on every evaluation.
func EvalWithin(ctx context.Context, timeout time.Duration, q rego.PreparedEvalQuery, opts ...rego.EvalOption) (rego.ResultSet, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := topdown.NewCancel()
	defer context.AfterFunc(ctx, c.Cancel)()
	if timeout > 0 {
		defer time.AfterFunc(timeout, c.Cancel).Stop()
	}
	return q.Eval(ctx, append(opts, rego.EvalExternalCancel(c))...)
}

// Cancelled reports whether err is an evaluation stopped by its timeout or
// its context.
func Cancelled(err error) bool {
	var te *topdown.Error
	return errors.As(err, &te) && te.Code == topdown.CancelErr
}
