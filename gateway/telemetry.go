package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/gateway/ops"
	"github.com/obert-gov/obert/policy"
)

// telemetry is what an operator watches beside the HTTP totals: each
// source's requests, outcomes, latency and breaker; the guard's decisions;
// the audit log's appends; the jobs. It is put around the parts as
// decorators, never inside their logic, and carries no personal data.
type telemetry struct {
	sourceRequests *prometheus.CounterVec
	sourceLatency  *prometheus.HistogramVec
	sourceOpen     *prometheus.GaugeVec
	decisions      *prometheus.CounterVec
	decisionTime   prometheus.Histogram
	auditAppend    *prometheus.HistogramVec
	auditBatch     prometheus.Histogram
	jobs           *prometheus.CounterVec
	vault          *prometheus.CounterVec
	log            *slog.Logger
}

func newTelemetry(reg prometheus.Registerer, log *slog.Logger) *telemetry {
	t := &telemetry{
		sourceRequests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "obert_source_requests_total",
			Help: "Requests to data sources by connector, category and outcome (ok, not-found, rejected, unavailable, circuit-open, bad-response, error)."},
			[]string{"connector", "category", "outcome"}),
		sourceLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "obert_source_request_duration_seconds",
			Help: "Latency of requests to data sources, retries included.", Buckets: []float64{.025, .05, .1, .25, .5, 1, 2, 4, 8}},
			[]string{"connector"}),
		sourceOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "obert_source_circuit_open",
			Help: "1 while a source's circuit breaker refuses calls in this replica, else 0."}, []string{"connector"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "obert_guard_decisions_total",
			Help: "Policy guard decisions by result (allow, deny, error) and purpose."}, []string{"result", "purpose"}),
		decisionTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "obert_guard_decision_duration_seconds",
			Help: "Time of one guard decision.", Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 5e-3, .1}}),
		auditAppend: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "obert_audit_append_duration_seconds",
			Help: "Time until an audit append is committed, by result (ok, error).", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, 1, 5}},
			[]string{"result"}),
		auditBatch: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "obert_audit_append_entries",
			Help: "Entries per audit append call.", Buckets: []float64{1, 2, 4, 8, 16, 64, 256, 1000}}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "obert_jobs_total",
			Help: "Background jobs worked in this replica by kind and outcome (completed, failed, cancelled, snoozed)."}, []string{"kind", "outcome"}),
		vault: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "obert_vault_requests_total",
			Help: "Requests to Vault by what they touch (kv, transit, token, other) and outcome (ok, refused, error)."}, []string{"op", "outcome"}),
		log: log,
	}
	reg.MustRegister(t.sourceRequests, t.sourceLatency, t.sourceOpen, t.decisions, t.decisionTime, t.auditAppend, t.auditBatch, t.jobs, t.vault)
	return t
}

// outcomeOf names a source's answer without any of its detail.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, connectors.ErrCircuitOpen):
		return "circuit-open"
	case errors.Is(err, connectors.ErrNotFound):
		return "not-found"
	case errors.Is(err, connectors.ErrRejected):
		return "rejected"
	case errors.Is(err, connectors.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return "unavailable"
	case errors.Is(err, connectors.ErrBadResponse):
		return "bad-response"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "error"
}

// connector counts and times a connector's requests and logs a source
// that fails (its id and the class of failure, nothing of the request).
func (t *telemetry) connector(c connectors.Connector) connectors.Connector {
	return &measuredConnector{c: c, t: t}
}

type measuredConnector struct {
	c connectors.Connector
	t *telemetry
}

func (m *measuredConnector) Category() connectors.Category { return m.c.Category() }

// Describe implements connectors.Describer.
func (m *measuredConnector) Describe() connectors.Description {
	if d, ok := m.c.(connectors.Describer); ok {
		return d.Describe()
	}
	return connectors.Description{ID: string(m.c.Category()), Category: m.c.Category()}
}

func (m *measuredConnector) Fetch(ctx context.Context, req connectors.Request) (connectors.Facts, error) {
	return m.measure(func() (connectors.Facts, error) { return m.c.Fetch(ctx, req) })
}

// Prepare implements connectors.Preparer: the sending is measured.
func (m *measuredConnector) Prepare(ctx context.Context, req connectors.Request) (connectors.Prepared, error) {
	p, err := connectors.Prepare(ctx, m.c, req)
	if err != nil {
		return nil, err
	}
	return connectors.SendFunc(func(ctx context.Context) (connectors.Facts, error) {
		return m.measure(func() (connectors.Facts, error) { return p.Send(ctx) })
	}), nil
}

func (m *measuredConnector) measure(call func() (connectors.Facts, error)) (connectors.Facts, error) {
	start := time.Now()
	f, err := call()
	id := m.Describe().ID
	outcome := outcomeOf(err)
	m.t.sourceRequests.WithLabelValues(id, string(m.c.Category()), outcome).Inc()
	m.t.sourceLatency.WithLabelValues(id).Observe(time.Since(start).Seconds())
	open := 0.0
	if outcome == "circuit-open" {
		open = 1
	}
	m.t.sourceOpen.WithLabelValues(id).Set(open)
	switch outcome {
	case "unavailable", "circuit-open", "bad-response", "error":
		m.t.log.Warn("data source failing", "connector", id, "category", string(m.c.Category()), "outcome", outcome)
	}
	return f, err
}

// guard counts and times the guard's decisions.
type measuredGuard struct {
	d policy.Decider
	t *telemetry
}

func (g measuredGuard) Decide(ctx context.Context, in policy.Input) (policy.Decision, error) {
	start := time.Now()
	d, err := g.d.Decide(ctx, in)
	g.t.decisionTime.Observe(time.Since(start).Seconds())
	result := "deny"
	switch {
	case err != nil:
		result = "error"
	case d.Allow:
		result = "allow"
	}
	purpose := in.Purpose
	if purpose == "" {
		purpose = "none"
	}
	g.t.decisions.WithLabelValues(result, purpose).Inc()
	return d, err
}

// appended records one audit append call.
func (t *telemetry) appended(n int, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
		t.log.Error("audit log append failed: nothing that needed it was done", "entries", n, "err", err)
	}
	t.auditAppend.WithLabelValues(result).Observe(time.Since(start).Seconds())
	t.auditBatch.Observe(float64(n))
}

// watchJobs counts the jobs this replica works, and logs the ones that
// fail, until the subscription ends (when the client stops).
func (t *telemetry) watchJobs(events <-chan *river.Event) {
	for e := range events {
		if e == nil || e.Job == nil {
			continue
		}
		outcome := map[river.EventKind]string{river.EventKindJobCompleted: "completed", river.EventKindJobFailed: "failed",
			river.EventKindJobCancelled: "cancelled", river.EventKindJobSnoozed: "snoozed"}[e.Kind]
		t.jobs.WithLabelValues(e.Job.Kind, outcome).Inc()
		if e.Kind == river.EventKindJobFailed {
			msg := ""
			if n := len(e.Job.Errors); n > 0 {
				msg = e.Job.Errors[n-1].Error
			}
			t.log.Warn("background job failed; it is retried", "kind", e.Job.Kind, "attempt", e.Job.Attempt, "err", msg)
		}
	}
}

// loggedChecks logs each readiness check when it starts failing and when it
// recovers, once each, so that a database or audit outage leaves a line in
// the log without one per probe.
func loggedChecks(checks []ops.Check, log *slog.Logger) []ops.Check {
	out := make([]ops.Check, len(checks))
	for i, c := range checks {
		var failing atomic.Bool
		out[i] = ops.Check{Name: c.Name, Func: func(ctx context.Context) error {
			err := c.Func(ctx)
			switch {
			case err != nil && !failing.Swap(true):
				log.Error("not ready: a dependency fails", "check", c.Name, "err", err)
			case err == nil && failing.Swap(false):
				log.Info("ready again", "check", c.Name)
			}
			return err
		}}
	}
	return out
}

// vaultTransport counts the requests the Vault client makes.
func (t *telemetry) vaultTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		op := "other"
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/v1/transit/"):
			op = "transit"
		case strings.HasPrefix(p, "/v1/auth/token/"):
			op = "token"
		case strings.HasPrefix(p, "/v1/secret/"):
			op = "kv"
		}
		resp, err := next.RoundTrip(r)
		outcome := "ok"
		switch {
		case err != nil, resp.StatusCode >= 500:
			outcome = "error"
		case resp.StatusCode >= 400 && resp.StatusCode != http.StatusNotFound:
			outcome = "refused"
		}
		t.vault.WithLabelValues(op, outcome).Inc()
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
