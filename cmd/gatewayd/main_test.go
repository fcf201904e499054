package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestDevStartsServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	ready := make(chan string, 1)
	done := make(chan int, 1)
	args := []string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-dev-idp-addr", "127.0.0.1:0", "-dev-clave-addr", "127.0.0.1:0", "-sim-addr", "127.0.0.1:0", "-dev-smtp-addr", "127.0.0.1:0"}
	go func() { done <- run(ctx, args, func(string) string { return "" }, &stdout, &stderr, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("gatewayd exited with %d: %s", code, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("gatewayd did not become ready")
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	for _, want := range []string{"DEVELOPMENT MODE", "older-alone", "single-parent", "long-term-unemployed", "young-at-risk", "dependent-household", "/log/checkpoint"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, stdout.String())
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d after shutdown: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("gatewayd did not stop")
	}
}

func TestProdRefusesToStart(t *testing.T) {
	env := map[string]string{"OBERT_MODE": "prod", "OBERT_DEV_IDP_ADDR": "127.0.0.1:0"}
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard, &stderr, nil)
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{"cannot start in prod mode", "OBERT_DATABASE_URL", "OBERT_PUBLIC_URL", "OBERT_SECRET_KEY"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("message lacks %q:\n%s", want, stderr.String())
		}
	}
}
