package connectors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Policy is how a connector is protected: a timeout per attempt, retries of
// transient failures (the same request, so the same IdPeticion: the source
// answers a repeated IdPeticion once), and a circuit breaker that stops
// calling a source that keeps failing.
type Policy struct {
	Timeout    time.Duration // per attempt; 0: the caller's deadline only
	Retries    int           // extra attempts after a transient failure
	Backoff    time.Duration // before the first retry, doubling after
	BreakAfter int           // consecutive transient failures that open the circuit; 0: never
	OpenFor    time.Duration // how long the circuit stays open before one trial call
	Now        func() time.Time
}

// ErrCircuitOpen is returned, wrapped with ErrUnavailable, while a source's
// circuit is open: nothing is sent.
var ErrCircuitOpen = errors.New("connectors: circuit open, the source failed repeatedly")

// Resilient wraps c with p. It keeps c's description.
func Resilient(c Connector, p Policy) Connector {
	if p.Now == nil {
		p.Now = time.Now
	}
	return &resilient{c: c, p: p}
}

type resilient struct {
	c Connector
	p Policy

	mu        sync.Mutex
	failures  int       // consecutive transient failures
	openUntil time.Time // circuit open until then
	trial     bool      // a half-open trial call is in flight
}

func (r *resilient) Category() Category { return r.c.Category() }

// Describe implements Describer.
func (r *resilient) Describe() Description {
	if d, ok := r.c.(Describer); ok {
		return d.Describe()
	}
	return Description{ID: string(r.c.Category()), Category: r.c.Category()}
}

// transient reports whether err may go away if the same request is sent
// again: the source was unavailable or too slow. A refusal, an unknown
// person or a bad (e.g. wrongly signed) answer is not retried.
func transient(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded)
}

// Fetch implements Connector, under the policy.
func (r *resilient) Fetch(ctx context.Context, req Request) (Facts, error) {
	return r.run(ctx, func(ctx context.Context) (Facts, error) { return r.c.Fetch(ctx, req) })
}

// Prepare implements Preparer: the inner connector prepares (signs) the
// request once; sending it runs under the policy, a retry sending the
// same request again.
func (r *resilient) Prepare(ctx context.Context, req Request) (Prepared, error) {
	p, err := Prepare(ctx, r.c, req)
	if err != nil {
		return nil, err
	}
	return SendFunc(func(ctx context.Context) (Facts, error) { return r.run(ctx, p.Send) }), nil
}

// run makes call under the policy: the circuit, a timeout per attempt,
// retries of transient failures.
func (r *resilient) run(ctx context.Context, call func(context.Context) (Facts, error)) (Facts, error) {
	if err := r.admit(); err != nil {
		Trying(ctx) // and nothing leaves
		return Facts{}, err
	}
	backoff := r.p.Backoff
	var err error
	for attempt := 0; ; attempt++ {
		var f Facts
		f, err = r.attempt(ctx, call)
		if err == nil {
			r.record(nil)
			return f, nil
		}
		if !transient(err) || attempt >= r.p.Retries || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			r.record(err)
			return Facts{}, err
		}
		backoff *= 2
	}
	r.record(err)
	return Facts{}, err
}

// attempt makes one call within the policy's timeout.
func (r *resilient) attempt(ctx context.Context, call func(context.Context) (Facts, error)) (Facts, error) {
	if r.p.Timeout <= 0 {
		return call(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, r.p.Timeout)
	defer cancel()
	f, err := call(ctx)
	if err != nil && ctx.Err() == context.DeadlineExceeded && !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: no answer within %s: %w", ErrUnavailable, r.p.Timeout, err)
	}
	return f, err
}

func (r *resilient) admit() error {
	if r.p.BreakAfter <= 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures < r.p.BreakAfter {
		return nil
	}
	if r.p.Now().Before(r.openUntil) || r.trial {
		return fmt.Errorf("%w: %w", ErrUnavailable, ErrCircuitOpen)
	}
	r.trial = true
	return nil
}

// record updates the breaker with a call's result.
func (r *resilient) record(err error) {
	if r.p.BreakAfter <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trial = false
	if err == nil || !transient(err) {
		r.failures = 0
		return
	}
	r.failures++
	if r.failures >= r.p.BreakAfter {
		r.openUntil = r.p.Now().Add(r.p.OpenFor)
	}
}
