package documents_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/documents/documentstest"
	"github.com/obert-gov/obert/gateway/keys"
)

type entries struct {
	mu   sync.Mutex
	list []audit.Entry
	fail error
}

func (e *entries) Record(_ context.Context, x audit.Entry) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return e.fail
	}
	e.list = append(e.list, x)
	return nil
}

func labels(lang, key string, args ...any) string {
	if len(args) > 0 {
		return key + ":" + fmt.Sprint(args...)
	}
	return key
}

func newService(t *testing.T, now *time.Time) (*documents.Service, *entries) {
	t.Helper()
	k, err := keys.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	key, cert, err := scsp.NewSelfSigned("Obert test documents", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec := &entries{}
	s, err := documents.New(documents.Config{Store: &documentstest.Memory{}, Sealer: k, Audit: rec, Signer: key, Cert: cert,
		Issuer: "Obert (test)", Verify: "https://obert.test/verify", Labels: labels, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return s, rec
}

var census = map[string]map[string]any{"census": {"municipality": "Girona", "registered_since": "2019-03-01",
	"household_size": float64(3), "lives_alone": false}}

func TestDocumentLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s, rec := newService(t, &now)
	if got := documents.Available(census); len(got) != 1 || got[0] != documents.Census {
		t.Fatalf("Available = %v", got)
	}
	if _, err := s.Issue(ctx, "alice", documents.Holder{}, documents.Tax, census); !errors.Is(err, documents.ErrNoData) {
		t.Fatalf("a tax certificate without tax facts: %v", err)
	}
	d, err := s.Issue(ctx, "alice", documents.Holder{Name: "Anna", Document: documents.MaskDocument("12345678Z")}, documents.Census, census)
	if err != nil {
		t.Fatal(err)
	}
	if !documents.WellFormed(d.CSV) || len(d.Fields) != 3 || d.Fields[0].Name != "municipality" || !d.ValidUntil.After(now) {
		t.Fatalf("issued %+v", d)
	}
	// Anyone may verify; only alice sees it among hers.
	got, err := s.Verify(ctx, strings.ToLower(d.CSV))
	if err != nil || got.Holder.Document != "***4567**" || got.Fields[0].Value != "Girona" {
		t.Fatalf("Verify = %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, "bob", d.CSV); !errors.Is(err, documents.ErrNotFound) {
		t.Fatalf("bob got alice's document: %v", err)
	}
	if _, err := s.Revoke(ctx, "bob", d.CSV); !errors.Is(err, documents.ErrNotFound) {
		t.Fatalf("bob revoked alice's document: %v", err)
	}
	if _, err := s.Verify(ctx, "not-a-code"); !errors.Is(err, documents.ErrMalformed) {
		t.Fatalf("a malformed code: %v", err)
	}
	if _, err := s.Verify(ctx, documents.NewCSV()); !errors.Is(err, documents.ErrNotFound) {
		t.Fatalf("an unknown code: %v", err)
	}
	later := now
	now = d.ValidUntil
	if _, err := s.Verify(ctx, d.CSV); !errors.Is(err, documents.ErrExpired) {
		t.Fatalf("an expired document: %v", err)
	}
	now = later
	if _, err := s.Revoke(ctx, "alice", d.CSV); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, "alice", d.CSV); !errors.Is(err, documents.ErrAlreadyRevoked) {
		t.Fatalf("revoked twice: %v", err)
	}
	if got, err := s.Verify(ctx, d.CSV); !errors.Is(err, documents.ErrRevoked) || !got.Revoked() {
		t.Fatalf("a revoked document: %+v, %v", got, err)
	}
	var kinds []string
	for _, e := range rec.list {
		if e.Subject != "alice" {
			t.Fatalf("entry under %q", e.Subject)
		}
		kinds = append(kinds, e.Kind+"/"+e.Outcome)
	}
	want := "document.issue/ok document.verify/ok document.verify/expired document.revoke/ok document.verify/revoked"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("entries %v, want %s", kinds, want)
	}
	// A document whose issue cannot be recorded does not exist.
	rec.fail = errors.New("log down")
	if _, err := s.Issue(ctx, "alice", documents.Holder{}, documents.Census, census); err == nil {
		t.Fatal("issued unrecorded")
	}
	if ds, _ := s.Of(ctx, "alice"); len(ds) != 1 {
		t.Fatalf("documents of alice: %d", len(ds))
	}
}

// TestDocumentPDF: the signed PDF carries the code, and poppler's pdfsig
// finds its signature valid.
func TestDocumentPDF(t *testing.T) {
	t.Parallel()
	now := time.Now()
	s, _ := newService(t, &now)
	d, err := s.Issue(context.Background(), "alice", documents.Holder{Name: "Núria Puig i Solà", Document: "***4567**"}, documents.Census, census)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.PDF(d, "ca")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	documentstest.CheckPDF(t, path, d.CSV)
}

// TestShare: a citizen shares one field of a document with an
// administration, for a purpose, until a date: a document of its own that
// shows that field alone, names whom it was given to and why, is recorded
// under the recipient, verifies on its own and is revoked on its own.
func TestShare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s, rec := newService(t, &now)
	d, err := s.Issue(ctx, "alice", documents.Holder{Name: "Anna"}, documents.Census, census)
	if err != nil {
		t.Fatal(err)
	}
	req := documents.ShareRequest{From: d.CSV, Fields: []string{"municipality"}, Recipient: "ajbcn", Purpose: "Ajut de menjador",
		Until: now.Add(30 * 24 * time.Hour)}
	for name, c := range map[string]struct {
		change func(*documents.ShareRequest)
		want   error
	}{
		"no field":           {func(r *documents.ShareRequest) { r.Fields = nil }, documents.ErrShareFields},
		"a field it lacks":   {func(r *documents.ShareRequest) { r.Fields = []string{"municipality", "income"} }, documents.ErrShareFields},
		"past its document":  {func(r *documents.ShareRequest) { r.Until = d.ValidUntil.Add(time.Hour) }, documents.ErrShareUntil},
		"in the past":        {func(r *documents.ShareRequest) { r.Until = now.Add(-time.Hour) }, documents.ErrShareUntil},
		"no purpose":         {func(r *documents.ShareRequest) { r.Purpose = "  " }, documents.ErrSharePurpose},
		"another's document": {func(r *documents.ShareRequest) { r.From = documents.NewCSV() }, documents.ErrNotFound},
	} {
		r := req
		c.change(&r)
		if _, err := s.Share(ctx, "alice", r); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	sh, err := s.Share(ctx, "alice", req)
	if err != nil {
		t.Fatal(err)
	}
	if sh.CSV == d.CSV || len(sh.Fields) != 1 || sh.Fields[0].Value != "Girona" || sh.Share.Recipient != "ajbcn" || !sh.ValidUntil.Equal(req.Until) {
		t.Fatalf("share %+v", sh)
	}
	last := rec.list[len(rec.list)-1]
	if last.Kind != documents.KindShare || last.Requester != "ajbcn" || last.Purpose != "Ajut de menjador" || last.RequestID != sh.CSV {
		t.Fatalf("the share's entry: %+v", last)
	}
	if _, err := s.Share(ctx, "alice", documents.ShareRequest{From: sh.CSV, Fields: []string{"municipality"}, Recipient: "x", Purpose: "y",
		Until: now.Add(time.Hour)}); !errors.Is(err, documents.ErrShareOfShare) {
		t.Fatalf("a share of a share: %v", err)
	}
	got, err := s.Verify(ctx, sh.CSV)
	if err != nil || got.Share == nil || len(got.Fields) != 1 {
		t.Fatalf("verify the share: %+v %v", got, err)
	}
	if _, err := s.Revoke(ctx, "alice", sh.CSV); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx, sh.CSV); !errors.Is(err, documents.ErrRevoked) {
		t.Fatalf("a revoked share: %v", err)
	}
	if _, err := s.Verify(ctx, d.CSV); err != nil {
		t.Fatalf("revoking the share revoked its document: %v", err)
	}
}
