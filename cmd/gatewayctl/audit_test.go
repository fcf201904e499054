package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/gateway/store/storetest"
	"github.com/obert-gov/obert/gateway/transparency"
)

func TestAuditVerifyAndProveOverHTTP(t *testing.T) {
	ctx := context.Background()
	s := storetest.OpenSQLite(t)
	l, _, vkey := audittest.NewLog(t, s)
	for i := range 600 {
		if _, err := l.Append(ctx, audit.Entry{ID: "e" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + time.Duration(i).String(),
			Time: time.Now(), Kind: audit.KindSignIn, Subject: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	ts := httptest.NewServer(transparency.Handler(l, vkey))
	defer ts.Close()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	// The verifier key's text form is what operators publish.
	os.WriteFile(keyFile, []byte(vkey), 0o600)

	var out, errb bytes.Buffer
	env := func(string) string { return "" }
	if code := run(ctx, []string{"audit", "verify", "--log", ts.URL + "/log", "--key", keyFile}, &out, &errb, env); code != 0 {
		t.Fatalf("verify exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "OK:") || !strings.Contains(out.String(), "600 entries") {
		t.Fatalf("verify output: %s", out.String())
	}
	cp, _ := l.Checkpoint(ctx)
	cpFile := filepath.Join(dir, "old.checkpoint")
	os.WriteFile(cpFile, cp, 0o600)
	l.Append(ctx, audit.Entry{ID: "later", Time: time.Now(), Kind: audit.KindSignIn, Subject: "bob"})
	out.Reset()
	if code := run(ctx, []string{"audit", "verify", "--log", ts.URL + "/log", "--key", keyFile, "--since", cpFile}, &out, &errb, env); code != 0 {
		t.Fatalf("verify --since exit %d: %s", code, errb.String())
	}

	es, _ := l.EntriesOf(ctx, "bob", audit.Filter{})
	b, err := l.Bundle(ctx, "bob", es[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	bf := filepath.Join(dir, "entry.json")
	raw, _ := json.Marshal(b)
	os.WriteFile(bf, raw, 0o600)
	out.Reset()
	if code := run(ctx, []string{"audit", "prove", bf, "--key", keyFile}, &out, &errb, env); code != 0 {
		t.Fatalf("prove exit %d: %s", code, errb.String())
	}
	b.Entry.Kind = audit.KindConsentGrant
	raw, _ = json.Marshal(b)
	os.WriteFile(bf, raw, 0o600)
	if code := run(ctx, []string{"audit", "prove", bf, "--key", keyFile}, &out, &errb, env); code != 1 {
		t.Fatalf("prove of an altered entry exit %d, want 1", code)
	}

	// Rewriting a leaf of the stored tree makes verify fail.
	if _, err := s.DB().ExecContext(ctx, `UPDATE audit_hashes SET hash = ? WHERE idx = ?`,
		bytes.Repeat([]byte{1}, 32), tlog.StoredHashIndex(0, 100)); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := run(ctx, []string{"audit", "verify", "--log", ts.URL + "/log", "--key", keyFile}, &out, &errb, env); code != 1 {
		t.Fatalf("verify after tampering exit %d, want 1 (%s)", code, errb.String())
	}
	// Malformed tile paths get a problem document.
	resp, _ := ts.Client().Get(ts.URL + "/log/tile/x/y")
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("malformed tile path: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestAuditVerifyFreshLog: a log without entries publishes the signed empty
// tree, and audit verify accepts it, also as the --since of a later run.
func TestAuditVerifyFreshLog(t *testing.T) {
	ctx := context.Background()
	l, _, vkey := audittest.NewLog(t, storetest.OpenSQLite(t))
	ts := httptest.NewServer(transparency.Handler(l, vkey))
	defer ts.Close()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte(vkey), 0o600)
	env := func(string) string { return "" }
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"audit", "verify", "--log", ts.URL + "/log", "--key", keyFile}, &out, &errb, env); code != 0 {
		t.Fatalf("verify of a fresh log: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "OK: obert.test/audit: 0 entries") {
		t.Fatalf("verify output: %s", out.String())
	}
	cp, _ := l.Checkpoint(ctx)
	cpFile := filepath.Join(dir, "empty.checkpoint")
	os.WriteFile(cpFile, cp, 0o600)
	l.Append(ctx, audit.Entry{ID: "first", Time: time.Now(), Kind: audit.KindSignIn, Subject: "alice"})
	out.Reset()
	if code := run(ctx, []string{"audit", "verify", "--log", ts.URL + "/log", "--key", keyFile, "--since", cpFile}, &out, &errb, env); code != 0 {
		t.Fatalf("verify --since the empty tree: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "1 entries") {
		t.Fatalf("verify output: %s", out.String())
	}
}
