// Package vaulttest starts a real Vault dev server for tests: the binary
// make test installs (OBERT_VAULT_BIN), on a free loopback port, with
// Transit enabled. Outside make test, tests that need it skip.
package vaulttest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// Server is a running Vault dev server.
type Server struct {
	Addr, Token string
	Client      *vault.Client
}

// Bin returns the Vault binary: OBERT_VAULT_BIN, the cached build, or PATH.
func Bin() string {
	if b := os.Getenv("OBERT_VAULT_BIN"); b != "" {
		return b
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, ".cache", "obert", "bin", "vault"); fileExists(p) {
			return p
		}
	}
	if p, err := exec.LookPath("vault"); err == nil {
		return p
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Start runs a Vault dev server for the test; it stops with the test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Bin()
	if bin == "" || !fileExists(bin) {
		if os.Getenv("OBERT_REQUIRE_VAULT") != "" {
			t.Fatal("Vault is required (make deps-vault builds it): set OBERT_VAULT_BIN")
		}
		t.Skip("no Vault binary; make test builds one")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out bytes.Buffer
	cmd := exec.Command(bin, "server", "-dev", "-dev-root-token-id=root", "-dev-listen-address="+addr)
	cmd.Env = append(os.Environ(), "VAULT_LOG_LEVEL=warn", "HOME="+t.TempDir())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(url + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Vault did not start at %s:\n%s", url, out.String())
		}
	}
	cfg := vault.DefaultConfig()
	cfg.Address = url
	c, err := vault.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken("root")
	if err := c.Sys().MountWithContext(context.Background(), "transit", &vault.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	return &Server{Addr: url, Token: "root", Client: c}
}
