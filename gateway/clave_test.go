package gateway_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors/sim"
)

var (
	formActionRe = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	formFieldRe  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// postForm submits the first form of the page as a browser would: to its
// action, with its hidden fields plus extra.
func (u *user) postForm(extra url.Values) int {
	u.t.Helper()
	m := formActionRe.FindStringSubmatch(u.page)
	if m == nil {
		u.t.Fatalf("no form on %s:\n%s", u.url, u.page)
	}
	action, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		u.t.Fatal(err)
	}
	base, _ := url.Parse(u.url)
	form := url.Values{}
	for _, f := range formFieldRe.FindAllStringSubmatch(u.page, -1) {
		form.Set(f[1], html.UnescapeString(f[2]))
	}
	for k, v := range extra {
		form[k] = v
	}
	return u.post(base.ResolveReference(action).String(), form)
}

// signInClave goes through the development Cl@ve IdP: our page posts the
// AuthnRequest, the IdP's login page, its page posting the response to us.
func (u *user) signInClave(base string, c sim.Citizen, loa string) int {
	u.t.Helper()
	if s := u.get(base + "/signin/clave?return=/folder"); s != http.StatusOK {
		u.t.Fatalf("Cl@ve start: %d %s", s, u.page)
	}
	if s := u.postForm(nil); s != http.StatusOK { // to the IdP: its login page
		u.t.Fatalf("Cl@ve login page: %d %s", s, u.page)
	}
	if s := u.postForm(url.Values{"citizen": {c.DocNumber}, "loa": {loa}}); s != http.StatusOK {
		u.t.Fatalf("Cl@ve login: %d %s", s, u.page)
	}
	if m := regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`).FindStringSubmatch(u.page); m != nil {
		raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		u.saml = string(raw)
	}
	return u.postForm(nil) // the IdP's page posts the response to our ACS
}

// TestClaveSignIn: the whole Cl@ve journey against crewjam/saml's IdP with
// real signed and encrypted messages: sign-in, the folder, the sign-in in
// the access log, single logout.
func TestClaveSignIn(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "single-parent")
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.get(d.URL + "/")
	u.mustSee("Sign in with Cl@ve")

	if s := u.signInClave(d.URL, c, "high"); s != http.StatusOK || !strings.HasSuffix(u.url, "/folder") {
		t.Fatalf("after Cl@ve sign-in: %d at %s\n%s", s, u.url, u.page)
	}
	u.mustSee(c.Name)
	if !strings.Contains(u.saml, "EncryptedAssertion") || strings.Contains(u.saml, c.DocNumber) {
		t.Errorf("the assertion travelled in clear:\n%s", u.saml)
	}
	u.get(d.URL + "/folder/access")
	u.mustSee("Sign-in")

	// Our metadata is signed and names both keys.
	m := newUser(t)
	m.get(d.URL + "/signin/clave/metadata")
	for _, want := range []string{`use="signing"`, `use="encryption"`, "SignatureValue", "/signin/clave/acs", "/signin/clave/slo"} {
		if !strings.Contains(m.page, want) {
			t.Errorf("SP metadata lacks %s", want)
		}
	}

	// Sign-out ends our session and logs out at the IdP.
	u.get(d.URL + "/folder")
	if s := u.post(d.URL+"/signout", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("sign-out: %d", s)
	}
	if !strings.Contains(u.page, "SAMLRequest") {
		t.Fatalf("sign-out did not post a LogoutRequest:\n%s", u.page)
	}
	// The page that carries it on says the person signed out, not that
	// they are signing in.
	if strings.Contains(u.page, "Continue to sign in") || !strings.Contains(u.page, "You have signed out") {
		t.Fatalf("the sign-out page does not say the person signed out:\n%s", u.page)
	}
	u.postForm(nil) // LogoutRequest to the IdP, which answers with its LogoutResponse form
	if s := u.postForm(nil); s != http.StatusOK || strings.Contains(u.url, "/folder") {
		t.Fatalf("after single logout: %d at %s", s, u.url)
	}
	if s := u.get(d.URL + "/folder"); !strings.Contains(u.url, "/?return=") {
		t.Fatalf("still signed in after sign-out: %d at %s", s, u.url)
	}
}

// TestClaveLevelTooLow: a sign-in below the level Obert asks for does not
// start a session; the citizen is told why and it is in the audit log.
func TestClaveLevelTooLow(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	if s := u.signInClave(d.URL, c, "low"); s == http.StatusOK || strings.HasSuffix(u.url, "/folder") {
		t.Fatalf("a low-assurance sign-in got in: %d at %s", s, u.url)
	}
	u.mustSee("Sign-in could not be completed")
	if s := u.get(d.URL + "/folder"); !strings.Contains(u.url, "/?return=") {
		t.Fatalf("a session exists after a refused sign-in: %d at %s", s, u.url)
	}
	if !strings.Contains(d.logs.String(), "provider-refused") {
		t.Errorf("the refusal was not logged with its reason:\n%s", d.logs.String())
	}
}

// TestClaveFailureIsAudited: a forged response gets the readable page and a
// failed-sign-in entry in the audit log, with its reason and no content of
// the response.
func TestClaveFailureIsAudited(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.get(d.URL + "/signin/clave")
	forged := base64.StdEncoding.EncodeToString([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x" Version="2.0">` +
		`<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">forged-issuer-marker</saml:Issuer></samlp:Response>`))
	if s := u.post(d.URL+"/signin/clave/acs", url.Values{"SAMLResponse": {forged}}); s != http.StatusUnauthorized {
		t.Fatalf("forged response: %d", s)
	}
	u.mustSee("Sign-in could not be completed")
	entries, err := d.Audit.EntriesOf(context.Background(), "-", audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range entries {
		if e.Kind == audit.KindSignInFailed && e.Requester == "clave" {
			found = true
			if e.Error == "" || strings.Contains(fmt.Sprint(e.Entry), "forged-issuer-marker") {
				t.Errorf("failed sign-in entry: %+v", e.Entry)
			}
		}
	}
	if !found {
		t.Fatalf("no failed Cl@ve sign-in in the audit log: %+v", entries)
	}
}
