package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/obert-gov/obert/gateway/secrets"
	"github.com/obert-gov/obert/gateway/secrets/vaulttest"
)

// TestKVReadAtUseWithRotation: a secret is read from Vault, reused within
// its TTL, and a rotation (a new KV version) is picked up after it.
func TestKVReadAtUseWithRotation(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := context.Background()
	now := time.Now()
	v, err := secrets.New(ctx, secrets.Config{Addr: srv.Addr, Token: srv.Token, TTL: time.Minute, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.New(ctx, secrets.Config{Addr: srv.Addr, Token: "wrong"}); err == nil {
		t.Fatal("a wrong token was accepted")
	}
	if _, _, err := v.Get(ctx, "scsp", "private_key"); !errors.Is(err, secrets.ErrNoSecret) {
		t.Fatalf("missing secret: %v", err)
	}
	v.Put(ctx, "scsp", map[string]any{"private_key": "k1"})
	got, ver, err := v.Get(ctx, "scsp", "private_key")
	if err != nil || got != "k1" || ver != 1 {
		t.Fatalf("first read: %q v%d %v", got, ver, err)
	}
	v.Put(ctx, "scsp", map[string]any{"private_key": "k2"})
	if got, _, _ := v.Get(ctx, "scsp", "private_key"); got != "k1" {
		t.Fatalf("within the TTL: %q", got)
	}
	now = now.Add(61 * time.Second)
	if got, ver, _ := v.Get(ctx, "scsp", "private_key"); got != "k2" || ver != 2 {
		t.Fatalf("after the TTL: %q v%d", got, ver)
	}
	if _, _, err := v.Get(ctx, "scsp", "certificate"); !errors.Is(err, secrets.ErrNoSecret) {
		t.Fatalf("missing field: %v", err)
	}
}

// TestEnvelope: values sealed under a Transit-wrapped data key open in
// another process's sealer (which unwraps through Vault), are bound to their
// context, and the wrapped key is useless without Vault.
func TestEnvelope(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := context.Background()
	v, err := secrets.New(ctx, secrets.Config{Addr: srv.Addr, Token: srv.Token})
	if err != nil {
		t.Fatal(err)
	}
	e1, err := v.NewEnvelope(ctx, "obert-facts", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sealed := e1.Seal([]byte(`{"income_annual":9000}`), []byte("facts/s/tax"))
	if bytes.Contains(sealed, []byte("9000")) || !strings.Contains(string(sealed), "vault:v1:") {
		t.Fatalf("sealed value %q", sealed)
	}
	// Another replica: its own data key, opens the first one's through Vault.
	v2, _ := secrets.New(ctx, secrets.Config{Addr: srv.Addr, Token: srv.Token})
	e2, err := v2.NewEnvelope(ctx, "obert-facts", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e2.Open(sealed, []byte("facts/s/tax"))
	if err != nil || string(plain) != `{"income_annual":9000}` {
		t.Fatalf("open in another replica: %q %v", plain, err)
	}
	if _, err := e2.Open(sealed, []byte("facts/other/tax")); err == nil {
		t.Fatal("opened under another context")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := e2.Open(sealed, []byte("facts/s/tax")); err == nil {
		t.Fatal("opened a changed value")
	}
	// Without Transit, a replica that never saw the data key cannot open
	// the value: the wrapped key alone is useless.
	sealed[len(sealed)-1] ^= 1
	v3, _ := secrets.New(ctx, secrets.Config{Addr: srv.Addr, Token: srv.Token})
	e3, err := v3.NewEnvelope(ctx, "obert-facts", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Client.Sys().UnmountWithContext(ctx, "transit"); err != nil {
		t.Fatal(err)
	}
	if _, err := e3.Open(sealed, []byte("facts/s/tax")); err == nil {
		t.Fatal("opened without Vault unwrapping the data key")
	}
	if _, err := v3.NewEnvelope(ctx, "obert-facts", time.Hour); err == nil {
		t.Fatal("an envelope was made without Transit")
	}
}

// TestTokenIsKept: a renewable token is renewed before it runs out; a new
// token written to the token file (as Vault Agent does) is used; Ready
// fails once the token is revoked.
func TestTokenIsKept(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := context.Background()
	root, err := secrets.New(ctx, secrets.Config{Addr: srv.Addr, Token: srv.Token})
	if err != nil {
		t.Fatal(err)
	}
	mint := func() string {
		s, err := root.Client().Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{TTL: "40s", Renewable: &[]bool{true}[0],
			Policies: []string{"default"}})
		if err != nil {
			t.Fatal(err)
		}
		return s.Auth.ClientToken
	}
	file := filepath.Join(t.TempDir(), "token")
	first := mint()
	os.WriteFile(file, []byte(first+"\n"), 0o600)
	v, err := secrets.New(ctx, secrets.Config{Addr: srv.Addr, TokenFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	ttl := func() time.Duration {
		s, err := v.Client().Auth().Token().LookupSelfWithContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := s.TokenTTL()
		return d
	}
	time.Sleep(2500 * time.Millisecond)
	before := ttl()
	kctx, stop := context.WithCancel(ctx)
	var errs []error
	var mu sync.Mutex
	go v.KeepToken(kctx, 50*time.Millisecond, func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() })
	time.Sleep(300 * time.Millisecond)
	if after := ttl(); after <= before {
		t.Fatalf("the token was not renewed: ttl %v, then %v", before, after)
	}
	// Vault Agent writes a new token: it is used from the next turn.
	second := mint()
	os.WriteFile(file, []byte(second+"\n"), 0o600)
	deadline := time.Now().Add(5 * time.Second)
	for v.Client().Token() != second && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if v.Client().Token() != second {
		t.Fatal("the token file's new token was not taken")
	}
	mu.Lock()
	if len(errs) > 0 {
		t.Fatalf("keeping the token: %v", errs)
	}
	mu.Unlock()
	if err := root.Client().Auth().Token().RevokeTreeWithContext(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := v.Ready(ctx); err == nil {
		t.Fatal("ready with a revoked token")
	}
}

// TestEnvelopeNeedsOnlyToUseTheKey: once the Transit key exists, starting
// again needs no right to create or configure keys, only to read the key
// and make and open data keys (least privilege for the gateway's token),
// and the key's configuration stays the operator's.
func TestEnvelopeNeedsOnlyToUseTheKey(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := context.Background()
	root, err := secrets.New(ctx, secrets.Config{Addr: srv.Addr, Token: srv.Token})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.NewEnvelope(ctx, "obert-facts", time.Hour); err != nil {
		t.Fatal(err)
	}
	c := root.Client()
	if _, err := c.Logical().WriteWithContext(ctx, "transit/keys/obert-facts/config", map[string]any{"deletion_allowed": true}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().PutPolicyWithContext(ctx, "obert-facts-user", `
path "transit/keys/obert-facts" { capabilities = ["read"] }
path "transit/datakey/plaintext/obert-facts" { capabilities = ["update"] }
path "transit/decrypt/obert-facts" { capabilities = ["update"] }
`); err != nil {
		t.Fatal(err)
	}
	s, err := c.Auth().Token().CreateWithContext(ctx, &vaultapi.TokenCreateRequest{Policies: []string{"obert-facts-user"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := secrets.New(ctx, secrets.Config{Addr: srv.Addr, Token: s.Auth.ClientToken})
	if err != nil {
		t.Fatal(err)
	}
	env, err := v.NewEnvelope(ctx, "obert-facts", time.Hour)
	if err != nil {
		t.Fatalf("a token that may only use the key: %v", err)
	}
	sealed := env.Seal([]byte("facts"), []byte("ctx"))
	if got, err := env.Open(sealed, []byte("ctx")); err != nil || string(got) != "facts" {
		t.Fatalf("open: %q %v", got, err)
	}
	k, err := c.Logical().ReadWithContext(ctx, "transit/keys/obert-facts")
	if err != nil || k == nil || k.Data["deletion_allowed"] != true {
		t.Fatalf("the key's configuration changed: %v %v", k, err)
	}
}
