package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors"
)

// scripted answers each call with the next error of its script (nil: facts).
type scripted struct {
	mu     sync.Mutex
	script []error
	calls  []string // request ids seen
	delay  time.Duration
}

func (s *scripted) Category() connectors.Category { return connectors.Census }

func (s *scripted) Fetch(ctx context.Context, req connectors.Request) (connectors.Facts, error) {
	s.mu.Lock()
	s.calls = append(s.calls, req.RequestID)
	var err error
	if len(s.script) > 0 {
		err, s.script = s.script[0], s.script[1:]
	}
	s.mu.Unlock()
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return connectors.Facts{}, ctx.Err()
		}
	}
	if err != nil {
		return connectors.Facts{}, err
	}
	return connectors.Facts{Category: connectors.Census, RequestID: req.RequestID}, nil
}

var errUnavailable = fmt.Errorf("%w: 503", connectors.ErrUnavailable)

func TestRetriesTransientWithTheSameRequestID(t *testing.T) {
	s := &scripted{script: []error{errUnavailable, errUnavailable, nil}}
	c := connectors.Resilient(s, connectors.Policy{Retries: 2, Backoff: time.Millisecond})
	f, err := c.Fetch(context.Background(), connectors.Request{RequestID: "REQ-1"})
	if err != nil || f.RequestID != "REQ-1" {
		t.Fatalf("after two transient failures: %v", err)
	}
	if len(s.calls) != 3 || s.calls[0] != "REQ-1" || s.calls[2] != "REQ-1" {
		t.Fatalf("calls %v", s.calls)
	}
}

func TestNoRetryOfRefusalsOrBadAnswers(t *testing.T) {
	for _, e := range []error{connectors.ErrRejected, connectors.ErrNotFound, connectors.ErrBadResponse} {
		s := &scripted{script: []error{e, nil}}
		c := connectors.Resilient(s, connectors.Policy{Retries: 3, Backoff: time.Millisecond})
		if _, err := c.Fetch(context.Background(), connectors.Request{RequestID: "R"}); !errors.Is(err, e) || len(s.calls) != 1 {
			t.Fatalf("%v: err %v after %d calls", e, err, len(s.calls))
		}
	}
}

func TestTimeoutPerAttempt(t *testing.T) {
	s := &scripted{delay: 200 * time.Millisecond}
	c := connectors.Resilient(s, connectors.Policy{Timeout: 20 * time.Millisecond, Retries: 1, Backoff: time.Millisecond})
	start := time.Now()
	_, err := c.Fetch(context.Background(), connectors.Request{RequestID: "R"})
	if !errors.Is(err, connectors.ErrUnavailable) || len(s.calls) != 2 {
		t.Fatalf("slow source: %v after %d calls", err, len(s.calls))
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Fatalf("two timed-out attempts took %s", d)
	}
}

func TestCircuitBreaker(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := &scripted{script: []error{errUnavailable, errUnavailable, errUnavailable, errUnavailable, nil, nil}}
	c := connectors.Resilient(s, connectors.Policy{BreakAfter: 3, OpenFor: time.Minute, Now: func() time.Time { return now }})
	ctx := context.Background()
	for range 3 {
		c.Fetch(ctx, connectors.Request{RequestID: "R"})
	}
	// Open: nothing is sent, and the request is reported as not sent
	// (a transport that does not report leaves it unknown).
	tracked, d := connectors.WithDelivery(ctx)
	_, err := c.Fetch(tracked, connectors.Request{RequestID: "R"})
	if !errors.Is(err, connectors.ErrCircuitOpen) || !errors.Is(err, connectors.ErrUnavailable) || len(s.calls) != 3 || !d.NotSent() {
		t.Fatalf("open circuit: %v after %d calls, not sent %v", err, len(s.calls), d.NotSent())
	}
	// After OpenFor, one trial; it fails and the circuit opens again.
	now = now.Add(61 * time.Second)
	tracked, d = connectors.WithDelivery(ctx)
	if _, err := c.Fetch(tracked, connectors.Request{RequestID: "R"}); errors.Is(err, connectors.ErrCircuitOpen) || len(s.calls) != 4 || d.NotSent() {
		t.Fatalf("half-open trial: %v, %d calls, not sent %v", err, len(s.calls), d.NotSent())
	}
	if _, err := c.Fetch(ctx, connectors.Request{RequestID: "R"}); !errors.Is(err, connectors.ErrCircuitOpen) {
		t.Fatalf("after a failed trial: %v", err)
	}
	// Next trial succeeds and closes it.
	now = now.Add(61 * time.Second)
	if _, err := c.Fetch(ctx, connectors.Request{RequestID: "R"}); err != nil {
		t.Fatalf("successful trial: %v", err)
	}
	if _, err := c.Fetch(ctx, connectors.Request{RequestID: "R"}); err != nil || len(s.calls) != 6 {
		t.Fatalf("closed again: %v, %d calls", err, len(s.calls))
	}
}
