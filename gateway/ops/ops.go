// Package ops gives the gateway its operational surface: liveness,
// readiness with named checks, Prometheus metrics by route pattern, and a
// server that shuts down gracefully, finishing requests in flight.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// GCPercent is the garbage collector's target gatewayd starts with unless
// the environment sets GOGC (cmd/gatewayd/collector.go says why). The
// benchmarks of work gatewayd does in its own process, such as the alert
// sweeps, run with it too.
const GCPercent = 400

// Check is one readiness check.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Healthz answers 200 while the process runs.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// Readyz runs every check with a timeout and answers 200 only when all
// pass. The body names failing checks, never their errors, which may carry
// internal detail.
func Readyz(checks []Check, timeout time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status := map[string]string{}
		code := http.StatusOK
		for _, c := range checks {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			err := c.Func(ctx)
			cancel()
			if err != nil {
				status[c.Name] = "fail"
				code = http.StatusServiceUnavailable
			} else {
				status[c.Name] = "ok"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(status)
	}
}

// Metrics holds the gateway's Prometheus registry and HTTP instruments.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics makes a dedicated registry (never the global default).
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "obert_http_requests_total",
			Help: "HTTP requests by route pattern and status."}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "obert_http_request_duration_seconds",
			Help: "HTTP request latency by route pattern.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) WriteHeader(c int) {
	if s.status == 0 {
		s.status = c
	}
	s.ResponseWriter.WriteHeader(c)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Middleware records each request under its route pattern (r.Pattern as set
// by ServeMux), never the raw path, which can carry identifiers.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return served(next, func(_ *http.Request, s serving) {
		m.requests.WithLabelValues(s.route, strconv.Itoa(s.status)).Inc()
		m.duration.WithLabelValues(s.route).Observe(s.took.Seconds())
	})
}

// serving is what is known of a request once it was served.
type serving struct {
	route  string // the pattern that matched ("unmatched" for none)
	status int
	bytes  int64
	took   time.Duration
}

// served serves next and then tells done what it served.
func served(next http.Handler, done func(*http.Request, serving)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s := serving{route: r.Pattern, status: sw.status, bytes: sw.bytes, took: time.Since(start)}
		if s.route == "" {
			s.route = "unmatched"
		}
		if s.status == 0 {
			s.status = http.StatusOK
		}
		done(r, s)
	})
}

// Serve serves srv on ln until ctx ends, then shuts down gracefully: no new
// connections, and requests in flight get up to timeout to finish.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, timeout time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// AccessLog writes one line per request: method, route pattern (never the
// raw path or query, which can carry identifiers), status, bytes and
// duration; no address, cookie or header of the person.
func AccessLog(log *slog.Logger, next http.Handler) http.Handler {
	return served(next, func(r *http.Request, s serving) {
		level := slog.LevelInfo
		if s.status >= 500 {
			level = slog.LevelWarn
		}
		log.LogAttrs(r.Context(), level, "http", slog.String("method", r.Method), slog.String("route", s.route),
			slog.Int("status", s.status), slog.Int64("bytes", s.bytes), slog.Duration("took", s.took))
	})
}
