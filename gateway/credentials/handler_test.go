package credentials

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandlers(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t, func(c *Config) { c.Issuer = "https://obert.example/cat/" })
	if got := iss.MetadataPath(); got != "/.well-known/jwt-vc-issuer/cat" {
		t.Errorf("metadata path %q", got)
	}
	if got := iss.StatusListPath(); got != "/credentials/status/1" {
		t.Errorf("status list path %q", got)
	}
	mux := http.NewServeMux()
	mux.Handle(iss.MetadataPath(), iss.MetadataHandler())
	mux.Handle(iss.StatusListPath(), iss.StatusListHandler())

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/jwt-vc-issuer/cat", nil))
	var md Metadata
	if err := json.Unmarshal(rec.Body.Bytes(), &md); err != nil || rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("metadata %d %s: %v", rec.Code, rec.Body, err)
	}
	if md.Issuer != "https://obert.example/cat" || len(md.JWKS.Keys) != 1 {
		t.Fatalf("metadata %+v", md)
	}
	k := md.JWKS.Keys[0]
	if pub, err := k.PublicKey(); err != nil || !pub.Equal(&iss.cfg.Key.PublicKey) || k.Kid != k.Thumbprint() || k.Alg != "ES256" {
		t.Errorf("published key %+v: %v", k, err)
	}

	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/credentials/status/1", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/statuslist+jwt" || rec.Header().Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("status list %d %v", rec.Code, rec.Header())
	}
	if _, err := VerifyStatusListJWT(rec.Body.String(), &iss.cfg.Key.PublicKey, iss.StatusListURI(), testNow); err != nil {
		t.Errorf("served list: %v", err)
	}

	for _, path := range []string{"/.well-known/jwt-vc-issuer/cat", "/credentials/status/1"} {
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("POST", path, nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") == "" {
			t.Errorf("POST %s: %d", path, rec.Code)
		}
	}
}

type failingStore struct{ *MemoryStore }

func (*failingStore) Revoked(context.Context, string) ([]int64, error) {
	return nil, errors.New("database unreachable")
}

func TestStatusListHandlerStoreDown(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t, func(c *Config) { c.Store = &failingStore{NewMemoryStore()} })
	rec := httptest.NewRecorder()
	iss.StatusListHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/credentials/status/1", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("store down: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestJWKRejects(t *testing.T) {
	t.Parallel()
	good, _ := PublicJWK(&newKey(t).PublicKey)
	for name, mod := range map[string]func(*JWK){
		"rsa":        func(k *JWK) { k.Kty = "RSA" },
		"p384":       func(k *JWK) { k.Crv = "P-384" },
		"short x":    func(k *JWK) { k.X = k.X[:20] },
		"off curve":  func(k *JWK) { k.Y = k.X },
		"not base64": func(k *JWK) { k.X = "!!" },
	} {
		k := good
		mod(&k)
		if _, err := k.PublicKey(); !errors.Is(err, ErrKey) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// RFC 7638 §3.1's example is RSA; for EC the member order is crv, kty,
	// x, y, so a kid and alg must not change the thumbprint.
	k := good
	k.Kid, k.Alg = "x", "ES256"
	if k.Thumbprint() != good.Thumbprint() {
		t.Error("thumbprint depends on optional members")
	}
}
