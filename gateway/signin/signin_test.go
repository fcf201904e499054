package signin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/devidp"
	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

type events struct {
	mu       sync.Mutex
	signedIn []string
	failed   []string
}

func (e *events) SignedIn(_ context.Context, subject, provider, loa, _ string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.signedIn = append(e.signedIn, subject+"/"+provider+"/"+loa)
	return nil
}

func (e *events) SignInFailed(_ context.Context, provider, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failed = append(e.failed, reason)
}

type rig struct {
	svc    *signin.Service
	rp     *httptest.Server
	ev     *events
	keys   *keys.Keys
	now    *time.Time
	client *http.Client
	tokens *tokenTap
}

// tokenTap is the RP's transport to the provider; it keeps the ID tokens
// the token endpoint answers with.
type tokenTap struct {
	mu       sync.Mutex
	idTokens []string
}

func (tt *tokenTap) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.URL.Path != "/token" {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if json.Unmarshal(b, &tok) == nil && tok.IDToken != "" {
		tt.mu.Lock()
		tt.idTokens = append(tt.idTokens, tok.IDToken)
		tt.mu.Unlock()
	}
	return resp, nil
}

var maria = devidp.Citizen{DocType: "NIF", DocNumber: "12345678Z", Name: "Maria", Surname1: "Puig", Surname2: "Soler", BirthDate: "1950-03-04"}

func newRig(t testing.TB) *rig {
	t.Helper()
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	k, _ := keys.New(bytes.Repeat([]byte{9}, 32))
	now := time.Now()
	r := &rig{ev: &events{}, keys: k, now: &now, tokens: &tokenTap{}}
	mux := http.NewServeMux()
	r.rp = httptest.NewServer(mux)
	t.Cleanup(r.rp.Close)
	op, err := devidp.Start(ctx, "127.0.0.1:0", devidp.Config{Citizens: []devidp.Citizen{maria},
		ClientID: "obert", ClientSecret: "dev-secret", RedirectURIs: []string{r.rp.URL + "/signin/idcat/callback"},
		PostLogoutRedirectURIs: []string{r.rp.URL + signin.SignedOutPath}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close(ctx) })
	r.svc, err = signin.New(signin.Config{Store: st, Sealer: k, Subject: k.Subject, Events: r.ev, PublicURL: r.rp.URL,
		IdleTimeout: 10 * time.Minute, MaxAge: time.Hour, Now: func() time.Time { return *r.now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.svc.WithIdCAT(ctx, signin.IdCATConfig{Issuer: op.Issuer(), ClientID: "obert", ClientSecret: "dev-secret",
		HTTPClient: &http.Client{Transport: r.tokens, Timeout: 10 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /signin/idcat", r.svc.IdCATStart)
	mux.HandleFunc("GET /signin/idcat/callback", r.svc.IdCATCallback)
	mux.HandleFunc("POST /signout", r.svc.SignOut)
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, req *http.Request) {
		s, ok := r.svc.Current(req)
		if !ok {
			http.Error(w, "anonymous", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, s.Subject+" "+s.Identity.DocNumber+" "+s.Identity.LoA)
	})
	jar, _ := cookiejar.New(nil)
	r.client = &http.Client{Jar: jar}
	return r
}

var authField = regexp.MustCompile(`name="auth" value="([^"]+)"`)

// login runs the browser's part up to the callback URL, which it returns
// without following, so tests can replay or alter it.
func (r *rig) login(t testing.TB, acr string) string {
	t.Helper()
	noFollow := *r.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := r.client.Get(r.rp.URL + "/signin/idcat?return=/whoami")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := authField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no login form at the provider:\n%s", page)
	}
	resp, err = noFollow.PostForm(resp.Request.URL.Scheme+"://"+resp.Request.URL.Host+"/authorize",
		url.Values{"auth": {string(m[1])}, "citizen": {maria.DocNumber}, "acr": {acr}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider answered %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func (r *rig) get(t testing.TB, u string) (int, string) {
	t.Helper()
	resp, err := r.client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestIdCATSignInEndToEnd(t *testing.T) {
	r := newRig(t)
	cb := r.login(t, "substantial")
	code, body := r.get(t, cb)
	want := r.keys.Subject(maria.DocNumber) + " 12345678Z substantial"
	if code != 200 || body != want {
		t.Fatalf("after sign-in: %d %q, want %q", code, body, want)
	}
	if len(r.ev.signedIn) != 1 || !strings.HasSuffix(r.ev.signedIn[0], "/idcat/substantial") {
		t.Fatalf("sign-in events: %v", r.ev.signedIn)
	}
	// The callback cannot be replayed: the flow is gone.
	if code, _ := r.get(t, cb); code != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", code)
	}
	// Sign out ends the session, and the provider's too (RP-initiated
	// logout naming the client), which sends the browser home.
	var via []string
	c := *r.client
	c.CheckRedirect = func(req *http.Request, _ []*http.Request) error { via = append(via, req.URL.Path); return nil }
	resp, _ := c.PostForm(r.rp.URL+"/signout", nil)
	resp.Body.Close()
	if len(via) != 2 || via[0] != "/logout" || via[1] != "/" || resp.Request.URL.Host != strings.TrimPrefix(r.rp.URL, "http://") {
		t.Fatalf("sign-out went through %v to %s", via, resp.Request.URL)
	}
	if code, _ := r.get(t, r.rp.URL+"/whoami"); code != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %d", code)
	}
}

// TestIdCATLogoutCarriesNoPersonalData: the end-session URL, which the
// provider and every proxy on the way may log, names the client, not the
// person: no part of the ID token and none of its claims about her.
func TestIdCATLogoutCarriesNoPersonalData(t *testing.T) {
	r := newRig(t)
	if code, body := r.get(t, r.login(t, "high")); code != http.StatusOK {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	r.tokens.mu.Lock()
	if len(r.tokens.idTokens) != 1 {
		t.Fatalf("%d ID tokens", len(r.tokens.idTokens))
	}
	tok := r.tokens.idTokens[0]
	r.tokens.mu.Unlock()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	secret := append([]string{tok}, parts...)
	for name, v := range claims {
		// iss and aud name the provider and us, which the request names anyway.
		if s, ok := v.(string); ok && name != "iss" && name != "aud" {
			secret = append(secret, s)
		}
	}
	for _, want := range []string{maria.DocNumber, maria.BirthDate, maria.Name, maria.Surname1, maria.Surname2} {
		if !slices.Contains(secret, want) {
			t.Fatalf("the ID token does not carry %q: %v", want, claims)
		}
	}

	noFollow := *r.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.PostForm(r.rp.URL+"/signout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/logout" {
		t.Fatalf("sign-out redirected to %q", loc)
	}
	plain, _ := url.QueryUnescape(loc)
	for _, s := range secret {
		if strings.Contains(loc, s) || strings.Contains(plain, s) {
			t.Errorf("the logout URL carries %q: %s", s, loc)
		}
	}
	if q := u.Query(); q.Get("client_id") != "obert" || q.Get("post_logout_redirect_uri") != r.rp.URL+signin.SignedOutPath || q.Has("id_token_hint") {
		t.Errorf("logout request %v", q)
	}
	// And the provider accepts it.
	resp, err = noFollow.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != r.rp.URL+signin.SignedOutPath {
		t.Fatalf("provider answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestCallbackRejections(t *testing.T) {
	r := newRig(t)
	cb := r.login(t, "high")
	u, _ := url.Parse(cb)
	q := u.Query()
	q.Set("state", "forged")
	u.RawQuery = q.Encode()
	if code, _ := r.get(t, u.String()); code != http.StatusBadRequest {
		t.Fatalf("forged state: %d", code)
	}
	// Without the browser's flow cookie (another browser, or a CSRF'd login).
	cb = r.login(t, "high")
	other := &http.Client{}
	resp, _ := other.Get(cb)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback in another browser: %d", resp.StatusCode)
	}
	// An expired flow.
	cb = r.login(t, "high")
	*r.now = r.now.Add(11 * time.Minute)
	if code, _ := r.get(t, cb); code != http.StatusBadRequest {
		t.Fatalf("expired flow: %d", code)
	}
	want := []string{"state-mismatch", "flow-missing-or-used", "flow-missing-or-used"}
	if strings.Join(r.ev.failed, ",") != strings.Join(want, ",") {
		t.Fatalf("failure events %v, want %v", r.ev.failed, want)
	}
	if len(r.ev.signedIn) != 0 {
		t.Fatal("a rejected callback signed someone in")
	}
}

func TestSessionTimeoutsAndOpenRedirect(t *testing.T) {
	r := newRig(t)
	if code, _ := r.get(t, r.login(t, "low")); code != 200 {
		t.Fatal("sign-in failed")
	}
	*r.now = r.now.Add(9 * time.Minute)
	if code, body := r.get(t, r.rp.URL+"/whoami"); code != 200 || !strings.HasSuffix(body, " low") {
		t.Fatalf("within idle timeout: %d %s", code, body)
	}
	*r.now = r.now.Add(11 * time.Minute)
	if code, _ := r.get(t, r.rp.URL+"/whoami"); code != http.StatusUnauthorized {
		t.Fatal("idle session still valid")
	}
	// Absolute timeout, even when active.
	r.get(t, r.login(t, "high"))
	for range 7 {
		*r.now = r.now.Add(9 * time.Minute)
		r.get(t, r.rp.URL+"/whoami")
	}
	if code, _ := r.get(t, r.rp.URL+"/whoami"); code != http.StatusUnauthorized {
		t.Fatal("session outlived its absolute timeout")
	}
	// The return path cannot leave the site. (Back to the provider's clock,
	// or its ID tokens would look expired.)
	*r.now = time.Now()
	noFollow := &http.Client{Jar: r.client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, evil := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		resp, _ := noFollow.Get(r.rp.URL + "/signin/idcat?return=" + url.QueryEscape(evil))
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		resp, _ = r.client.Get(loc.String())
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := authField.FindSubmatch(page)
		resp, _ = noFollow.PostForm(loc.Scheme+"://"+loc.Host+"/authorize", url.Values{"auth": {string(m[1])}, "citizen": {maria.DocNumber}})
		resp.Body.Close()
		resp, _ = noFollow.Get(resp.Header.Get("Location"))
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != "/folder" {
			t.Errorf("return=%s redirected to %q", evil, got)
		}
	}
}

// BenchmarkIdcatCallback: the callback of one valid IdCAT sign-in: the flow
// taken, the code exchanged with the provider over loopback HTTP, the ID
// token verified (keys cached), userinfo fetched, the session stored. The
// browser's way to the provider and back is not timed.
func BenchmarkIdcatCallback(b *testing.B) {
	r := newRig(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		cb := r.login(b, "substantial")
		b.StartTimer()
		if code, body := r.get(b, cb); code != http.StatusOK {
			b.Fatalf("callback: %d %s", code, body)
		}
	}
}

func TestClientDescription(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36":                       "Chrome on Android",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1": "Safari on iOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                        "Firefox on Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0":                   "Edge on Windows",
		"curl/8.5": "unknown browser",
	} {
		if got := signin.Device(ua); got != want {
			t.Errorf("%q: %q, want %q", ua, got, want)
		}
	}
	for ip, want := range map[string]string{"203.0.113.77": "203.0.113.0/24", "2001:db8:1234:5678::9": "2001:db8:1234::/48",
		"::ffff:198.51.100.7": "198.51.100.0/24"} {
		if got := signin.NetworkPrefix(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: %s, want %s", ip, got, want)
		}
	}
	if got := signin.NetworkPrefix(netip.Addr{}); got != "unknown network" {
		t.Errorf("no address: %s", got)
	}
}
