package signin_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// hostileOP is an OpenID provider the test controls completely: it answers
// every authorization at once and hands out whatever ID token the case
// crafts, so the relying party's own checks are what stand.
type hostileOP struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	secret string

	mu       sync.Mutex
	craft    func(op *hostileOP, nonce string) string // the ID token
	callback func(q url.Values)                       // alters the redirect back
	codes    map[string]string                        // code → nonce
	iss      string
}

func newHostileOP(t testing.TB, secret string) *hostileOP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op := &hostileOP{key: key, secret: secret, codes: map[string]string{}}
	mux := http.NewServeMux()
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	op.iss = op.srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": op.iss, "authorization_endpoint": op.iss + "/authorize",
			"token_endpoint": op.iss + "/token", "jwks_uri": op.iss + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &op.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code := rand.Text()
		op.mu.Lock()
		op.codes[code] = q.Get("nonce")
		cb := op.callback
		op.mu.Unlock()
		back := url.Values{"code": {code}, "state": {q.Get("state")}}
		if cb != nil {
			cb(back)
		}
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		op.mu.Lock()
		nonce, ok := op.codes[r.PostForm.Get("code")]
		delete(op.codes, r.PostForm.Get("code"))
		craft := op.craft
		op.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_grant"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": craft(op, nonce)})
	})
	return op
}

// claims are a valid ID token's claims for the relying party.
func (op *hostileOP) claims(nonce string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": op.iss, "aud": "obert", "sub": "s1", "nonce": nonce, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "document_number": "12345678Z", "document_type": "NIF",
		"given_name": "Maria", "surname1": "Puig", "acr": "substantial"}
}

func (op *hostileOP) signRS256(c map[string]any, key *rsa.PrivateKey) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	tok, err := jwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		panic(err)
	}
	return tok
}

// newIdcatRig is a relying party configured for op.
func newIdcatRig(t *testing.T, op *hostileOP) (*signin.Service, *httptest.Server, *events, *http.Client) {
	t.Helper()
	k, _ := keys.New(bytes.Repeat([]byte{5}, 32))
	ev := &events{}
	mux := http.NewServeMux()
	rp := httptest.NewServer(mux)
	t.Cleanup(rp.Close)
	svc, err := signin.New(signin.Config{Store: storetest.OpenSQLite(t), Sealer: k, Subject: k.Subject, Events: ev, PublicURL: rp.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.WithIdCAT(context.Background(), signin.IdCATConfig{Issuer: op.iss, ClientID: "obert", ClientSecret: op.secret}); err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /signin/idcat", svc.IdCATStart)
	mux.HandleFunc("GET /signin/idcat/callback", svc.IdCATCallback)
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if s, ok := svc.Current(r); ok {
			io.WriteString(w, s.Identity.DocNumber)
			return
		}
		http.Error(w, "anonymous", http.StatusUnauthorized)
	})
	jar, _ := cookiejar.New(nil)
	return svc, rp, ev, &http.Client{Jar: jar}
}

// TestIdcatAttackCorpus: ID tokens and callbacks an attacker or a broken
// provider could produce; each is refused with its reason, no session.
func TestIdcatAttackCorpus(t *testing.T) {
	const secret = "client-secret-known-to-the-provider"
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	b64 := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	cases := []struct {
		name, reason string
		craft        func(op *hostileOP, nonce string) string
		callback     func(q url.Values)
	}{
		{"valid", "", func(op *hostileOP, n string) string { return op.signRS256(op.claims(n), op.key) }, nil},
		{"wrong issuer", "id-token-invalid", func(op *hostileOP, n string) string {
			c := op.claims(n)
			c["iss"] = "https://evil.example"
			return op.signRS256(c, op.key)
		}, nil},
		{"wrong audience", "id-token-invalid", func(op *hostileOP, n string) string {
			c := op.claims(n)
			c["aud"] = "another-client"
			return op.signRS256(c, op.key)
		}, nil},
		{"alg none", "id-token-invalid", func(op *hostileOP, n string) string {
			return b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(op.claims(n)) + "."
		}, nil},
		{"HS256 keyed with the client secret", "id-token-invalid", func(op *hostileOP, n string) string {
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(secret)}, (&jose.SignerOptions{}).WithType("JWT"))
			tok, _ := jwt.Signed(s).Claims(op.claims(n)).Serialize()
			return tok
		}, nil},
		{"signed by a key not in the provider's set", "id-token-invalid", func(op *hostileOP, n string) string {
			return op.signRS256(op.claims(n), otherKey)
		}, nil},
		{"expired", "id-token-invalid", func(op *hostileOP, n string) string {
			c := op.claims(n)
			c["iat"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			return op.signRS256(c, op.key)
		}, nil},
		{"nonce mismatch", "nonce-mismatch", func(op *hostileOP, _ string) string { return op.signRS256(op.claims("another-nonce"), op.key) }, nil},
		{"no nonce", "nonce-mismatch", func(op *hostileOP, _ string) string {
			c := op.claims("")
			delete(c, "nonce")
			return op.signRS256(c, op.key)
		}, nil},
		{"state mismatch", "state-mismatch", func(op *hostileOP, n string) string { return op.signRS256(op.claims(n), op.key) },
			func(q url.Values) { q.Set("state", "attacker-state") }},
		{"mix-up: answer names another issuer", "issuer-mismatch", func(op *hostileOP, n string) string { return op.signRS256(op.claims(n), op.key) },
			func(q url.Values) { q.Set("iss", "https://attacker-op.example") }},
		{"code the provider does not know", "code-exchange-failed", func(op *hostileOP, n string) string { return op.signRS256(op.claims(n), op.key) },
			func(q url.Values) { q.Set("code", "stolen-or-used-code") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op := newHostileOP(t, secret)
			op.craft, op.callback = c.craft, c.callback
			_, rp, ev, client := newIdcatRig(t, op)
			resp, err := client.Get(rp.URL + "/signin/idcat?return=/whoami")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if c.reason == "" {
				if resp.StatusCode != http.StatusOK || string(body) != "12345678Z" {
					t.Fatalf("valid sign-in: %d %s (%v)", resp.StatusCode, body, ev.failed)
				}
				return
			}
			if resp.StatusCode < 400 || !strings.Contains(string(body), c.reason) {
				t.Fatalf("got %d %q, want a refusal with %s", resp.StatusCode, body, c.reason)
			}
			if len(ev.failed) != 1 || ev.failed[0] != c.reason || len(ev.signedIn) != 0 {
				t.Fatalf("events: failed %v, signed in %v", ev.failed, ev.signedIn)
			}
			resp, _ = client.Get(rp.URL + "/whoami")
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatal("a session exists after a refused sign-in")
			}
		})
	}
}

// TestIdcatStepUp: a sign-in that asks for a level (a page's step-up)
// sends acr_values to the provider and refuses an answer below it.
func TestIdcatStepUp(t *testing.T) {
	op := newHostileOP(t, "s")
	op.craft = func(op *hostileOP, n string) string { return op.signRS256(op.claims(n), op.key) } // acr substantial
	_, rp, ev, client := newIdcatRig(t, op)
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if strings.Contains(req.URL.Path, "/authorize") && req.URL.Query().Get("acr_values") != "high" {
			t.Errorf("the provider was not asked for high: %s", req.URL)
		}
		return nil
	}
	resp, err := client.Get(rp.URL + "/signin/idcat?loa=high&return=/whoami")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "loa-too-low") || len(ev.signedIn) != 0 {
		t.Fatalf("an answer below the level asked for: %d %s", resp.StatusCode, body)
	}
}

// TestIdcatCodeReuse: a callback replayed, even right after the real one,
// finds no flow, and the provider would refuse the used code anyway.
func TestIdcatCodeReuse(t *testing.T) {
	op := newHostileOP(t, "s")
	op.craft = func(op *hostileOP, n string) string { return op.signRS256(op.claims(n), op.key) }
	_, rp, ev, client := newIdcatRig(t, op)
	noFollow := *client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ := noFollow.Get(rp.URL + "/signin/idcat")
	resp.Body.Close()
	resp, _ = noFollow.Get(resp.Header.Get("Location"))
	resp.Body.Close()
	cb := resp.Header.Get("Location")
	for i, want := range []int{http.StatusSeeOther, http.StatusBadRequest} {
		resp, err := noFollow.Get(cb)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("use %d of the callback: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if len(ev.failed) != 1 || ev.failed[0] != "flow-missing-or-used" {
		t.Fatalf("failures %v", ev.failed)
	}
}
