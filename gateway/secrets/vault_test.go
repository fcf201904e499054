package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
