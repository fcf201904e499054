package ops

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadyz(t *testing.T) {
	fail := errors.New("dial tcp 10.0.0.1: secret detail")
	h := Readyz([]Check{{"database", func(context.Context) error { return nil }}, {"audit", func(context.Context) error { return fail }}}, time.Second)
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"audit":"fail"`) || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("readyz: %d %s", rec.Code, rec.Body.String())
	}
	h = Readyz([]Check{{"database", func(context.Context) error { return nil }}}, time.Second)
	rec = httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 200 {
		t.Fatalf("readyz all ok: %d", rec.Code)
	}
}

func TestMetricsByPattern(t *testing.T) {
	m := NewMetrics()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /folder/access/{id}/proof", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	mux.Handle("GET /metrics", m.Handler())
	ts := httptest.NewServer(m.Middleware(mux))
	defer ts.Close()
	http.Get(ts.URL + "/folder/access/e-12345678Z/proof")
	resp, _ := http.Get(ts.URL + "/metrics")
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	if !strings.Contains(body, `obert_http_requests_total{route="GET /folder/access/{id}/proof",status="404"} 1`) {
		t.Fatalf("metrics:\n%s", body)
	}
	if strings.Contains(body, "12345678Z") {
		t.Fatal("metrics carry a raw path")
	}
}

func TestServeFinishesInFlightRequests(t *testing.T) {
	started := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("done"))
	})}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, srv, ln, 5*time.Second) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		got <- string(b)
	}()
	<-started
	cancel()
	if s := <-got; s != "done" {
		t.Fatalf("in-flight request got %q", s)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + ln.Addr().String()); err == nil {
		t.Fatal("server still accepts after shutdown")
	}
}

func TestAccessLogNamesTheRouteNotThePath(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /folder/access/{id}/proof", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("proof")) })
	h := AccessLog(log, mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/folder/access/ae_SECRETID/proof?who=12345678Z", nil))
	line := buf.String()
	for _, want := range []string{"method=GET", `route="GET /folder/access/{id}/proof"`, "status=200", "bytes=5"} {
		if !strings.Contains(line, want) {
			t.Errorf("access log lacks %s: %s", want, line)
		}
	}
	if strings.Contains(line, "SECRETID") || strings.Contains(line, "12345678Z") {
		t.Errorf("access log carries the raw path or query: %s", line)
	}
}
