package devidp_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/gateway/devidp"
	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

type noEvents struct{}

func (noEvents) SignedIn(context.Context, string, string, string, string) error { return nil }
func (noEvents) SignInFailed(context.Context, string, string)                   {}

// browser follows the forms of the SAML HTTP-POST binding by hand.
type browser struct {
	t      *testing.T
	client *http.Client
	url    string
	page   string
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	formField  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

func (b *browser) do(method, u string, form url.Values) int {
	b.t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodGet {
		resp, err = b.client.Get(u)
	} else {
		resp, err = b.client.PostForm(u, form)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	b.url, b.page = u, string(body)
	return resp.StatusCode
}

// submit posts the page's form with its hidden fields plus extra.
func (b *browser) submit(extra url.Values) int {
	b.t.Helper()
	m := formAction.FindStringSubmatch(b.page)
	if m == nil {
		b.t.Fatalf("no form at %s:\n%s", b.url, b.page)
	}
	base, _ := url.Parse(b.url)
	action, err := base.Parse(html.UnescapeString(m[1]))
	if err != nil {
		b.t.Fatal(err)
	}
	form := url.Values{}
	for _, f := range formField.FindAllStringSubmatch(b.page, -1) {
		form.Set(f[1], html.UnescapeString(f[2]))
	}
	for k, v := range extra {
		form[k] = v
	}
	return b.do(http.MethodPost, action.String(), form)
}

func (b *browser) says(want ...string) bool {
	for _, w := range want {
		if !strings.Contains(b.page, w) {
			return false
		}
	}
	return true
}

var signedOut = []string{"Ha cerrado la sesión", "Heu tancat la sessió", "You have signed out"}

// TestClaveSignOutPages: Obert signs a person in through the development
// Cl@ve and out again; the pages on the way out, Obert's and the IdP's, say
// the person has signed out, those on the way in do not.
func TestClaveSignOutPages(t *testing.T) {
	ctx := context.Background()
	mux := http.NewServeMux()
	sp := httptest.NewServer(mux)
	t.Cleanup(sp.Close)
	idp, err := devidp.StartClave(ctx, "127.0.0.1:0", devidp.ClaveConfig{Citizens: []devidp.Citizen{maria},
		SPMetadataURL: sp.URL + "/signin/clave/metadata"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close(ctx) })
	k, _ := keys.New(bytes.Repeat([]byte{5}, 32))
	svc, err := signin.New(signin.Config{Store: storetest.OpenSQLite(t), Sealer: k, Subject: k.Subject, Events: noEvents{},
		PublicURL: sp.URL})
	if err != nil {
		t.Fatal(err)
	}
	sk, sc, _ := scsp.NewSelfSigned("Obert SP signing", time.Now())
	ek, ec, _ := scsp.NewSelfSigned("Obert SP encryption", time.Now())
	if err := svc.WithClave(ctx, signin.ClaveConfig{IdPMetadata: idp.MetadataURL(), SigningKey: sk, SigningCert: sc,
		EncryptionKey: ek, EncryptionCert: ec}); err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /signin/clave", svc.ClaveStart)
	mux.HandleFunc("POST /signin/clave/acs", svc.ClaveACS)
	mux.HandleFunc("POST /signin/clave/slo", svc.ClaveSLO)
	mux.HandleFunc("GET /signin/clave/metadata", svc.ClaveMetadata)
	mux.HandleFunc("POST /signout", svc.SignOut)
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if s, ok := svc.Current(r); ok {
			io.WriteString(w, s.Identity.DocNumber)
			return
		}
		http.Error(w, "anonymous", http.StatusUnauthorized)
	})

	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	b.do(http.MethodGet, sp.URL+"/signin/clave?return=/whoami", nil)
	if code := b.submit(nil); code != http.StatusOK || !b.says("Cl@ve de DESARROLLO", maria.DocNumber) {
		t.Fatalf("login page: %d %s", code, b.page)
	}
	if code := b.submit(url.Values{"citizen": {maria.DocNumber}, "loa": {"substantial"}}); code != http.StatusOK ||
		!b.says(`name="SAMLResponse"`, sp.URL+"/signin/clave/acs") {
		t.Fatalf("IdP response page: %d %s", code, b.page)
	}
	for _, s := range signedOut {
		if b.says(s) {
			t.Errorf("the sign-in response page says %q:\n%s", s, b.page)
		}
	}
	if code := b.submit(nil); code != http.StatusSeeOther {
		t.Fatalf("ACS: %d %s", code, b.page)
	}
	if b.do(http.MethodGet, sp.URL+"/whoami", nil); b.page != maria.DocNumber {
		t.Fatalf("not signed in: %s", b.page)
	}

	if code := b.do(http.MethodPost, sp.URL+"/signout", nil); code != http.StatusOK || !b.says(`name="SAMLRequest"`) {
		t.Fatalf("sign-out: %d %s", code, b.page)
	}
	if !b.says(signedOut...) {
		t.Errorf("Obert's sign-out page does not say the person has signed out:\n%s", b.page)
	}
	if code := b.submit(nil); code != http.StatusOK || !b.says(`name="SAMLResponse"`, sp.URL+"/signin/clave/slo") {
		t.Fatalf("IdP logout: %d %s", code, b.page)
	}
	if !b.says(signedOut...) {
		t.Errorf("the IdP's logout page does not say the person has signed out:\n%s", b.page)
	}
	if code := b.submit(nil); code != http.StatusSeeOther {
		t.Fatalf("our SLO endpoint: %d %s", code, b.page)
	}
	if code := b.do(http.MethodGet, sp.URL+"/whoami", nil); code != http.StatusUnauthorized {
		t.Fatalf("still signed in: %d %s", code, b.page)
	}
}
