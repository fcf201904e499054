package credentials

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTestIssuer(t testing.TB, mod func(*Config)) *Issuer {
	t.Helper()
	cfg := Config{
		Issuer:        "https://obert.example",
		Key:           newKey(t),
		StatusListURI: "https://obert.example/credentials/status/1",
		StatusListLen: 1024,
		Store:         NewMemoryStore(),
		Now:           func() time.Time { return testNow },
	}
	if mod != nil {
		mod(&cfg)
	}
	iss, err := NewIssuer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func censusClaims() map[string]any {
	return map[string]any{
		"given_name":            "Núria",
		"family_name":           "Puig i Soler",
		"resident_in_catalonia": true,
		"municipality":          "Girona",
		"address":               map[string]any{"street_address": "Carrer de la Força 12", "postal_code": "17004", "locality": "Girona"},
		"registered_since":      "2019-04-02",
	}
}

func TestIssueVerifyAll(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t, nil)
	cred, err := iss.Issue(context.Background(), Request{Type: CensusCertificate, Claims: censusClaims()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(cred.SDJWT, "~") || strings.Count(cred.SDJWT, "~") != 7 {
		t.Fatalf("compact form: %q", cred.SDJWT)
	}
	v, err := Verify(cred.SDJWT, VerifyOptions{IssuerKey: &iss.cfg.Key.PublicKey, Issuer: "https://obert.example", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	if v.VCT != "https://obert.example/vct/census-certificate" || v.VCT != cred.VCT {
		t.Errorf("vct %q", v.VCT)
	}
	want, _ := json.Marshal(censusClaims())
	got, _ := json.Marshal(v.Claims)
	if string(got) != string(want) {
		t.Errorf("claims\n got %s\nwant %s", got, want)
	}
	if v.Status == nil || v.Status.Index != cred.StatusIndex || v.Status.URI != iss.StatusListURI() {
		t.Errorf("status %+v", v.Status)
	}
	if v.Holder != nil || v.KeyBound {
		t.Errorf("unbound credential reports a holder")
	}
	if !v.Expires.Equal(testNow.Add(90 * 24 * time.Hour)) {
		t.Errorf("exp %v", v.Expires)
	}

	// The issuer-signed part says nothing of the claims in clear.
	s, _ := Split(cred.SDJWT)
	j, _ := parseJWS(s.JWT)
	for name := range censusClaims() {
		if _, ok := j.payload[name]; ok {
			t.Errorf("claim %q in clear", name)
		}
	}
	if j.header["typ"] != "dc+sd-jwt" || j.header["kid"] != iss.PublicJWK().Kid {
		t.Errorf("header %v", j.header)
	}
	sd := j.payload["_sd"].([]any)
	if len(sd) != 6 || !slices.IsSortedFunc(sd, func(a, b any) int { return strings.Compare(a.(string), b.(string)) }) {
		t.Errorf("_sd not 6 sorted digests: %v", sd)
	}
}

func TestIssueIndicesDistinct(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t, nil)
	seen := map[int64]bool{}
	for range 5 {
		c, err := iss.Issue(context.Background(), Request{Type: WorkingLifeReport, Claims: map[string]any{"days_contributed": 4012}})
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.StatusIndex] {
			t.Fatalf("index %d twice", c.StatusIndex)
		}
		seen[c.StatusIndex] = true
	}
}

func TestIssueRejects(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t, nil)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		req  Request
		want error
	}{
		"unknown type":   {Request{Type: "passport", Claims: map[string]any{"a": 1}}, ErrUnknownType},
		"no claims":      {Request{Type: CensusCertificate}, ErrClaims},
		"reserved iss":   {Request{Type: CensusCertificate, Claims: map[string]any{"iss": "x"}}, ErrClaims},
		"reserved _sd":   {Request{Type: CensusCertificate, Claims: map[string]any{"_sd": "x"}}, ErrClaims},
		"reserved cnf":   {Request{Type: CensusCertificate, Claims: map[string]any{"cnf": "x"}}, ErrClaims},
		"empty name":     {Request{Type: CensusCertificate, Claims: map[string]any{"": "x"}}, ErrClaims},
		"unmarshallable": {Request{Type: CensusCertificate, Claims: map[string]any{"f": func() {}}}, ErrClaims},
		"p384 holder":    {Request{Type: CensusCertificate, Claims: map[string]any{"a": 1}, Holder: p384(t)}, ErrKey},
	} {
		if _, err := iss.Issue(ctx, tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	// None of the refusals spent an index.
	c, err := iss.Issue(ctx, Request{Type: CensusCertificate, Claims: map[string]any{"a": 1}})
	if err != nil || c.StatusIndex != 0 {
		t.Errorf("first index after refusals: %d, %v", c.StatusIndex, err)
	}
}

func p384(t *testing.T) *ecdsa.PublicKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &k.PublicKey
}

func TestNewIssuerRejects(t *testing.T) {
	t.Parallel()
	for name, mod := range map[string]func(*Config){
		"no key":          func(c *Config) { c.Key = nil },
		"p384 key":        func(c *Config) { k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader); c.Key = k },
		"relative issuer": func(c *Config) { c.Issuer = "/obert" },
		"issuer query":    func(c *Config) { c.Issuer = "https://obert.example/?a=1" },
		"no status uri":   func(c *Config) { c.StatusListURI = "" },
		"no store":        func(c *Config) { c.Store = nil },
		"negative ttl":    func(c *Config) { c.StatusListTTL = -time.Second },
	} {
		cfg := Config{Issuer: "https://obert.example", Key: newKey(t), StatusListURI: "https://obert.example/s", Store: NewMemoryStore()}
		mod(&cfg)
		if _, err := NewIssuer(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestIssueFullList(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t, func(c *Config) { c.StatusListLen = 2 })
	ctx := context.Background()
	req := Request{Type: TaxComplianceCertificate, Claims: map[string]any{"up_to_date": true}}
	for range 2 {
		if _, err := iss.Issue(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := iss.Issue(ctx, req); !errors.Is(err, ErrStatusListFull) {
		t.Fatalf("third credential in a list of 2: %v", err)
	}
}

func TestRevokeStatusList(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t, nil)
	ctx := context.Background()
	var creds []Credential
	for range 3 {
		c, err := iss.Issue(ctx, Request{Type: CensusCertificate, Claims: censusClaims()})
		if err != nil {
			t.Fatal(err)
		}
		creds = append(creds, c)
	}
	if err := iss.Revoke(ctx, creds[1].StatusIndex); err != nil {
		t.Fatal(err)
	}
	if err := iss.Revoke(ctx, 7); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking an index never issued: %v", err)
	}
	if err := iss.Revoke(ctx, 5000); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking beyond the list: %v", err)
	}
	tok, err := iss.StatusListJWT(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, err := VerifyStatusListJWT(tok, &iss.cfg.Key.PublicKey, iss.StatusListURI(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 1024 {
		t.Errorf("list of %d", l.Len())
	}
	for i, c := range creds {
		st, _ := l.Get(int(c.StatusIndex))
		if want := map[bool]byte{true: StatusInvalid, false: StatusValid}[i == 1]; st != want {
			t.Errorf("credential %d: status %d, want %d", i, st, want)
		}
	}
	if _, err := VerifyStatusListJWT(tok, &iss.cfg.Key.PublicKey, "https://elsewhere/1", testNow); !errors.Is(err, ErrMalformed) {
		t.Errorf("list for another uri: %v", err)
	}
	if _, err := VerifyStatusListJWT(tok, &newKey(t).PublicKey, iss.StatusListURI(), testNow); !errors.Is(err, ErrSignature) {
		t.Errorf("list under another key: %v", err)
	}
	if _, err := VerifyStatusListJWT(tok, &iss.cfg.Key.PublicKey, iss.StatusListURI(), testNow.Add(25*time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("stale list: %v", err)
	}
	var claims map[string]any
	s := strings.Split(tok, ".")
	decodeJSONPart(s[0], &claims)
	if claims["typ"] != "statuslist+jwt" {
		t.Errorf("status list header %v", claims)
	}
}
