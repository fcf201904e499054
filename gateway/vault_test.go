package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/gateway/secrets"
	"github.com/obert-gov/obert/gateway/secrets/vaulttest"
)

// TestVaultBackedGateway: with OBERT_VAULT_ADDR the root secret, the audit
// checkpoint key and the SCSP credentials come from Vault KV, and stored
// facts are sealed under data keys Vault Transit wraps.
func TestVaultBackedGateway(t *testing.T) {
	srv := vaulttest.Start(t)
	ctx := context.Background()
	v, err := secrets.New(ctx, secrets.Config{Addr: srv.Addr, Token: srv.Token})
	if err != nil {
		t.Fatal(err)
	}
	root := make([]byte, 32)
	rand.Read(root)
	skey, vkey, _ := note.GenerateKey(rand.Reader, "obert-vault-audit")
	key, cert, _ := scsp.NewSelfSigned("Obert gateway (Vault)", time.Now())
	for path, data := range map[string]map[string]any{
		"gateway": {"secret_key": hex.EncodeToString(root)},
		"audit":   {"signing_key": skey},
		"scsp":    {"private_key": string(scsp.KeyPEM(key)), "certificate": string(scsp.CertPEM(cert))},
	} {
		if err := v.Put(ctx, path, data); err != nil {
			t.Fatal(err)
		}
	}
	d := startDev(t, "-vault-addr", srv.Addr, "-vault-token", srv.Token)
	if d.VerifierKey != vkey {
		t.Fatalf("checkpoints are not signed with Vault's key: %s, want %s", d.VerifierKey, vkey)
	}
	c := d.citizenOf(t, "older-alone")
	u := consentAndFetch(t, d, c)
	// The simulator trusts only the certificate in Vault, so the request
	// was signed with Vault's key.
	got := d.Dev.Sim.Received()
	if len(got) != 1 {
		t.Fatalf("the simulator received %d requests", len(got))
	}
	u.get(d.URL + "/folder/aids")
	u.mustSee("tele")
	var sealed []byte
	if err := d.Store.DB().QueryRowContext(ctx, `SELECT sealed FROM facts`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, []byte("ov1")) || !strings.Contains(string(sealed), "vault:v1:") || bytes.Contains(sealed, []byte(c.Municipality)) {
		t.Fatalf("facts are not sealed under a Transit-wrapped key: %q", sealed[:min(len(sealed), 80)])
	}
	// Vault is in readiness, and its calls in the metrics.
	u.get(d.URL + "/readyz")
	u.mustSee(`"vault":"ok"`)
	u.get(d.URL + "/metrics")
	u.mustSee(`obert_vault_requests_total{op="kv",outcome="ok"}`, `obert_vault_requests_total{op="transit",outcome="ok"}`,
		`obert_vault_requests_total{op="token",outcome="ok"}`)
}
