package main

import (
	"bytes"
	"context"
	"io"
	"net"
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

// TestStartFailuresSayWhy: every failure after the configuration is
// valid ends with exit 1 and a message naming its cause, never a panic.
func TestStartFailuresSayWhy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, c := range []struct {
		name string
		env  map[string]string
		addr string
		says string
	}{
		{"database unreachable", map[string]string{"OBERT_DATABASE_URL": "postgres://postgres@127.0.0.1:1/none?connect_timeout=2"}, "", "postgres"},
		{"root secret not hex", map[string]string{"OBERT_SECRET_KEY": "not hex"}, "", "OBERT_SECRET_KEY"},
		{"audit key malformed", map[string]string{"OBERT_AUDIT_SIGNING_KEY": "PRIVATE+KEY+nonsense"}, "", "OBERT_AUDIT_SIGNING_KEY"},
		{"SCSP key file missing", map[string]string{"OBERT_VIAOBERTA_URL": "http://127.0.0.1:1/", "OBERT_SCSP_KEY_FILE": "/nonexistent/scsp.key"}, "", "OBERT_SCSP_KEY_FILE"},
		{"Vault unreachable", map[string]string{"OBERT_VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "x"}, "", "vault"},
		{"port in use", nil, busy.Addr().String(), "address already in use"},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := c.addr
			if addr == "" {
				addr = "127.0.0.1:0"
			}
			args := []string{"-addr", addr, "-data-dir", t.TempDir(), "-dev-idp-addr", "127.0.0.1:0", "-dev-clave-addr", "127.0.0.1:0",
				"-sim-addr", "127.0.0.1:0", "-dev-smtp-addr", "127.0.0.1:0"}
			var stderr syncBuffer
			code := run(context.Background(), args, func(k string) string { return c.env[k] }, io.Discard, &stderr, nil)
			if code != 1 || !strings.Contains(strings.ToLower(stderr.String()), strings.ToLower(c.says)) {
				t.Fatalf("exit %d, want 1 with a message naming %q:\n%s", code, c.says, stderr.String())
			}
		})
	}
}

// TestOpsListener: with OBERT_OPS_ADDR, /metrics is served there and not on
// the public address; the probes answer on both.
func TestOpsListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsAddr := opsLn.Addr().String()
	opsLn.Close()
	var stdout, stderr syncBuffer
	ready := make(chan string, 1)
	done := make(chan int, 1)
	args := []string{"-addr", "127.0.0.1:0", "-data-dir", t.TempDir(), "-dev-idp-addr", "127.0.0.1:0", "-dev-clave-addr", "127.0.0.1:0",
		"-sim-addr", "127.0.0.1:0", "-dev-smtp-addr", "127.0.0.1:0", "-ops-addr", opsAddr}
	go func() { done <- run(ctx, args, func(string) string { return "" }, &stdout, &stderr, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case code := <-done:
		t.Fatalf("gatewayd exited with %d: %s", code, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("gatewayd did not become ready")
	}
	status := func(u string) int {
		for range 50 {
			resp, err := http.Get(u)
			if err == nil {
				resp.Body.Close()
				return resp.StatusCode
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s does not answer", u)
		return 0
	}
	if s := status("http://" + opsAddr + "/metrics"); s != http.StatusOK {
		t.Errorf("/metrics on the operations listener: %d", s)
	}
	if s := status("http://" + addr + "/metrics"); s != http.StatusNotFound {
		t.Errorf("/metrics on the public listener: %d", s)
	}
	for _, a := range []string{addr, opsAddr} {
		if s := status("http://" + a + "/healthz"); s != http.StatusOK {
			t.Errorf("/healthz on %s: %d", a, s)
		}
	}
	cancel()
	<-done
}
