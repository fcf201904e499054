package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/consent"
)

func TestConsentVerifyReceipt(t *testing.T) {
	ctx := context.Background()
	signer, _ := consent.NewReceiptSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, 32)))
	keys, _ := json.Marshal(signer.PublicKeys())
	offers, _ := consent.DefaultOffers()
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	g := consent.Grant{ID: "cg_9", Subject: "s", Category: "census", Purpose: "aid-recommendation", LegalBasis: consent.BasisConsent,
		TextVersion: offers[0].TextVersion, Language: "en", GrantedAt: at, ExpiresAt: at.Add(time.Hour), WithdrawnAt: at.Add(time.Minute)}
	// Obert's keys and receipts' status, as the gateway serves them.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /consent/receipt-keys", func(w http.ResponseWriter, _ *http.Request) { w.Write(keys) })
	mux.HandleFunc("GET /consent/receipts/{id}/status", func(w http.ResponseWriter, r *http.Request) {
		jws, _ := signer.SignStatus(consent.StatusOf(r.PathValue("id"), g, at.Add(2*time.Minute)))
		json.NewEncoder(w).Encode(map[string]string{"jws": jws})
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	doc, err := signer.Sign(consent.ReceiptOf(g, offers[0], consent.Controller{Name: "c"}, ""))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file, keyFile := filepath.Join(dir, "receipt.json"), filepath.Join(dir, "keys.json")
	os.WriteFile(file, doc, 0o600)
	os.WriteFile(keyFile, keys, 0o600)
	env := func(string) string { return "" }
	for _, src := range []string{ts.URL + "/consent/receipt-keys", keyFile} {
		var out, errb bytes.Buffer
		if code := run(ctx, []string{"consent", "verify-receipt", file, "--keys", src}, &out, &errb, env); code != 0 {
			t.Fatalf("verify-receipt with %s: exit %d: %s", src, code, errb.String())
		}
		if !strings.Contains(out.String(), "cg_9.withdrawn verifies") || !strings.Contains(out.String(), "withdrawn 2026-11-25T09:01:00Z") {
			t.Fatalf("output: %s", out.String())
		}
		if strings.HasPrefix(src, "http") && !strings.Contains(out.String(), "current: the consent is still withdrawn") {
			t.Fatalf("the status was not asked: %s", out.String())
		}
	}
	// The receipt given when the grant was active verifies, but the status
	// says a withdrawal superseded it: exit 1.
	active := g
	active.WithdrawnAt = time.Time{}
	old, _ := signer.Sign(consent.ReceiptOf(active, offers[0], consent.Controller{Name: "c"}, ""))
	oldFile := filepath.Join(dir, "old.json")
	os.WriteFile(oldFile, old, 0o600)
	var sout, serr bytes.Buffer
	if code := run(ctx, []string{"consent", "verify-receipt", oldFile, "--keys", ts.URL + "/consent/receipt-keys"}, &sout, &serr, env); code != 1 ||
		!strings.Contains(sout.String(), "superseded: the consent is now withdrawn (receipt cg_9.withdrawn)") {
		t.Fatalf("a superseded receipt: exit %d: %s %s", code, sout.String(), serr.String())
	}
	// One changed character in the readable part: exit 1.
	os.WriteFile(file, bytes.Replace(doc, []byte(`"withdrawn"`), []byte(`"active"`), 1), 0o600)
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"consent", "verify-receipt", file, "--keys", keyFile}, &out, &errb, env); code != 1 {
		t.Fatalf("tampered receipt: exit %d (%s)", code, out.String())
	}
	if code := run(ctx, []string{"consent", "verify-receipt", file}, &out, &errb, env); code != 2 {
		t.Fatalf("without --keys: exit %d", code)
	}
}
