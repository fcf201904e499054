package policy

import (
	"context"

	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Eval evaluates q, stopped when ctx ends. Left to itself OPA starts a
// goroutine per evaluation to watch ctx; a context callback does the same
// without one, which counts when a sweep evaluates a rule for every
// subscriber. A cancelled evaluation returns an error.
func Eval(ctx context.Context, q rego.PreparedEvalQuery, opts ...rego.EvalOption) (rego.ResultSet, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := topdown.NewCancel()
	defer context.AfterFunc(ctx, c.Cancel)()
	return q.Eval(ctx, append(opts, rego.EvalExternalCancel(c))...)
}
