package devidp_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/obert-gov/obert/gateway/devidp"
)

var maria = devidp.Citizen{DocType: "NIF", DocNumber: "12345678Z", Name: "Maria", Surname1: "Puig", Surname2: "Soler", BirthDate: "1950-03-04"}

const (
	client   = "obert"
	secret   = "dev-secret"
	callback = "https://obert.test/signin/idcat/callback"
	home     = "https://obert.test/"
)

func startOP(t *testing.T) *devidp.Running {
	t.Helper()
	op, err := devidp.Start(context.Background(), "127.0.0.1:0", devidp.Config{Citizens: []devidp.Citizen{maria},
		ClientID: client, ClientSecret: secret, RedirectURIs: []string{callback}, PostLogoutRedirectURIs: []string{home}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close(context.Background()) })
	return op
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// idToken signs maria in through the provider and returns her ID token.
func idToken(t *testing.T, op *devidp.Running) string {
	t.Helper()
	verifier := rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {client}, "redirect_uri": {callback}, "response_type": {"code"}, "scope": {"openid profile"},
		"state": {"s"}, "nonce": {"n"}, "code_challenge_method": {"S256"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
	resp, err := http.Get(op.Issuer() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="auth" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no login form:\n%s", page)
	}
	resp, err = noFollow.PostForm(op.Issuer()+"/authorize", url.Values{"auth": {string(m[1])}, "citizen": {maria.DocNumber}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	req, _ := http.NewRequest(http.MethodPost, op.Issuer()+"/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {callback}, "code_verifier": {verifier}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, secret)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.IDToken == "" {
		t.Fatalf("token response: %d %v", resp.StatusCode, err)
	}
	return tok.IDToken
}

// TestEndSession: RP-initiated logout names the client by client_id (no
// personal data in the URL) or by an ID token the provider issued to it, and
// sends the browser back only to a registered address, with its state.
func TestEndSession(t *testing.T) {
	op := startOP(t)
	tok := idToken(t, op)
	forged := tok[:strings.LastIndex(tok, ".")+1] + "AAAA"
	for _, c := range []struct {
		name   string
		q      url.Values
		status int
		to     string
	}{
		{"client_id", url.Values{"client_id": {client}, "post_logout_redirect_uri": {home}}, http.StatusFound, home},
		{"client_id and state", url.Values{"client_id": {client}, "post_logout_redirect_uri": {home}, "state": {"xyz"}},
			http.StatusFound, home + "?state=xyz"},
		{"id_token_hint", url.Values{"id_token_hint": {tok}, "post_logout_redirect_uri": {home}}, http.StatusFound, home},
		{"both", url.Values{"id_token_hint": {tok}, "client_id": {client}, "post_logout_redirect_uri": {home}}, http.StatusFound, home},
		{"unknown client", url.Values{"client_id": {"other"}, "post_logout_redirect_uri": {home}}, http.StatusBadRequest, ""},
		{"hint of another client", url.Values{"id_token_hint": {tok}, "client_id": {"other"}, "post_logout_redirect_uri": {home}},
			http.StatusBadRequest, ""},
		{"forged hint", url.Values{"id_token_hint": {forged}, "client_id": {client}, "post_logout_redirect_uri": {home}},
			http.StatusBadRequest, ""},
		{"no client", url.Values{"post_logout_redirect_uri": {home}}, http.StatusBadRequest, ""},
		{"unregistered address", url.Values{"client_id": {client}, "post_logout_redirect_uri": {"https://evil.test/"}},
			http.StatusBadRequest, ""},
		{"no address", url.Values{"client_id": {client}}, http.StatusOK, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := noFollow.Get(op.Issuer() + "/logout?" + c.q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || resp.Header.Get("Location") != c.to {
				t.Fatalf("%d to %q, want %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), c.status, c.to, body)
			}
			if c.status == http.StatusOK {
				for _, want := range []string{"Heu tancat la sessió", "Ha cerrado la sesión", "You have signed out"} {
					if !strings.Contains(string(body), want) {
						t.Errorf("the page does not say %q:\n%s", want, body)
					}
				}
			}
		})
	}
}
