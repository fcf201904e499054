package signin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// interopBin returns the path of an identity provider we did not write,
// installed by `make deps-interop`; outside make the interop tests skip.
func interopBin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("OBERT_INTEROP_BIN")
	if dir == "" {
		t.Skip("OBERT_INTEROP_BIN is not set: run `make test` (it installs the independent providers)")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: %v (run make deps-interop)", p, err)
	}
	return p
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// startProcess runs the provider as its own process and waits until url
// answers.
func startProcess(t *testing.T, ready string, name string, args []string, env ...string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s did not come up at %s:\n%s", name, ready, out.String())
}

// TestInteropZitadelOP: IdCAT sign-in against zitadel/oidc's example
// OpenID provider, a separate process: discovery, authorization code with
// PKCE, its login form, token, ID token and userinfo, then our session.
func TestInteropZitadelOP(t *testing.T) {
	bin := interopBin(t, "server")
	port := freePort(t)
	issuer := "http://localhost:" + port + "/"

	ev := &events{}
	k, _ := keys.New(bytes.Repeat([]byte{3}, 32))
	mux := http.NewServeMux()
	rp := httptest.NewServer(mux)
	t.Cleanup(rp.Close)
	users := filepath.Join(t.TempDir(), "users.json")
	os.WriteFile(users, []byte(`{"u1":{"ID":"u1","Username":"12345678Z","Password":"pw-of-maria","FirstName":"Maria","LastName":"Puig","Email":"maria@example.test","EmailVerified":true,"PreferredLanguage":"ca"}}`), 0o600)
	startProcess(t, issuer+".well-known/openid-configuration", bin, nil,
		"PORT="+port, "USERS_FILE="+users, "REDIRECT_URI="+rp.URL+"/signin/idcat/callback")

	svc, err := signin.New(signin.Config{Store: storetest.OpenSQLite(t), Sealer: k, Subject: k.Subject, Events: ev, PublicURL: rp.URL})
	if err != nil {
		t.Fatal(err)
	}
	// The example provider names the person in preferred_username, and only
	// at userinfo: the claim is configuration, the protocol is what is proven.
	if err := svc.WithIdCAT(context.Background(), signin.IdCATConfig{Issuer: issuer, ClientID: "web", ClientSecret: "secret",
		DocumentClaim: "preferred_username"}); err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /signin/idcat", svc.IdCATStart)
	mux.HandleFunc("GET /signin/idcat/callback", svc.IdCATCallback)
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if s, ok := svc.Current(r); ok {
			fmt.Fprintf(w, "%s %s %s", s.Identity.DocNumber, s.Identity.Name, s.Identity.Surname1)
			return
		}
		http.Error(w, "anonymous", http.StatusUnauthorized)
	})

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := client.Get(rp.URL + "/signin/idcat?return=/whoami")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id := regexp.MustCompile(`name="id" value="([^"]+)"`).FindSubmatch(page)
	if id == nil {
		t.Fatalf("no login form at the provider (%s):\n%s", resp.Request.URL, page)
	}
	login := resp.Request.URL
	resp, err = client.PostForm(login.Scheme+"://"+login.Host+login.Path, url.Values{"id": {string(id[1])},
		"username": {"12345678Z"}, "password": {"pw-of-maria"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "12345678Z Maria Puig" {
		t.Fatalf("after sign-in at zitadel's provider: %d %q (failures %v)", resp.StatusCode, body, ev.failed)
	}
	if len(ev.signedIn) != 1 || !strings.Contains(ev.signedIn[0], "/idcat/low") {
		t.Fatalf("sign-in events %v", ev.signedIn)
	}
}

// TestInteropCrewjamIdP: Cl@ve sign-in against crewjam/saml's example IdP,
// a separate process with its own key: our signed metadata registered with
// it, our signed AuthnRequest, its login form, its signed response with the
// assertion encrypted to our key, then our session.
func TestInteropCrewjamIdP(t *testing.T) {
	bin := interopBin(t, "idp")
	port := freePort(t)
	idpURL := "http://127.0.0.1:" + port
	startProcess(t, idpURL+"/metadata", bin, []string{"-idp", idpURL, "-listen", "127.0.0.1:" + port})

	ev := &events{}
	k, _ := keys.New(bytes.Repeat([]byte{4}, 32))
	mux := http.NewServeMux()
	sp := httptest.NewServer(mux)
	t.Cleanup(sp.Close)
	now := time.Now()
	sk, sc, _ := scsp.NewSelfSigned("Obert SP signing", now)
	ek, ec, _ := scsp.NewSelfSigned("Obert SP encryption", now)
	svc, err := signin.New(signin.Config{Store: storetest.OpenSQLite(t), Sealer: k, Subject: k.Subject, Events: ev, PublicURL: sp.URL})
	if err != nil {
		t.Fatal(err)
	}
	// The example IdP speaks the eduPerson/X.500 attribute profile and
	// PasswordProtectedTransport, not eIDAS: that mapping is configuration.
	err = svc.WithClave(context.Background(), signin.ClaveConfig{IdPMetadata: idpURL + "/metadata",
		SigningKey: sk, SigningCert: sc, EncryptionKey: ek, EncryptionCert: ec, LoA: signin.LoALow,
		Attributes: signin.ClaveAttributes{PersonIdentifier: "urn:oid:0.9.2342.19200300.100.1.1",
			GivenName: "urn:oid:2.5.4.42", FamilyName: "urn:oid:2.5.4.4"},
		Levels: map[string]string{"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport": signin.LoALow}})
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /signin/clave", svc.ClaveStart)
	mux.HandleFunc("GET /signin/clave/metadata", svc.ClaveMetadata)
	mux.HandleFunc("POST /signin/clave/acs", svc.ClaveACS)
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		if s, ok := svc.Current(r); ok {
			fmt.Fprintf(w, "%s %s %s %s", s.Identity.DocNumber, s.Identity.Name, s.Identity.Surname1, s.Identity.LoA)
			return
		}
		http.Error(w, "anonymous", http.StatusUnauthorized)
	})

	// Register our metadata and a person with the IdP (its admin API).
	md, err := http.Get(sp.URL + "/signin/clave/metadata")
	if err != nil {
		t.Fatal(err)
	}
	mdBytes, _ := io.ReadAll(md.Body)
	md.Body.Close()
	put := func(path string, body []byte) {
		req, _ := http.NewRequest(http.MethodPut, idpURL+path, bytes.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("PUT %s: %d %s", path, resp.StatusCode, b)
		}
	}
	put("/services/obert", mdBytes)
	user, _ := json.Marshal(map[string]any{"name": "12345678Z", "password": "pw-of-maria", "email": "maria@example.test",
		"given_name": "Maria", "surname": "Puig Soler"})
	put("/users/12345678Z", user)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := client.Get(sp.URL + "/signin/clave?return=/whoami")
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(resp)
	// Our page posts the AuthnRequest to the IdP; its login form comes back.
	form := formFields(page)
	resp = postFrom(t, client, formAction(t, page), form, "")
	page = readAll(resp)
	form = formFields(page)
	form.Set("user", "12345678Z")
	form.Set("password", "pw-of-maria")
	resp = postFrom(t, client, formAction(t, page), form, idpURL)
	page = readAll(resp)
	if !strings.Contains(page, "SAMLResponse") {
		t.Fatalf("the IdP did not answer with a response (%d):\n%s", resp.StatusCode, page)
	}
	posted := formFields(page)
	if raw, _ := base64.StdEncoding.DecodeString(posted.Get("SAMLResponse")); !bytes.Contains(raw, []byte("EncryptedAssertion")) ||
		bytes.Contains(raw, []byte("12345678Z")) {
		t.Errorf("the assertion was not encrypted to our key:\n%s", raw)
	}
	resp = postFrom(t, client, formAction(t, page), posted, idpURL)
	body := readAll(resp)
	if resp.StatusCode != http.StatusOK || body != "12345678Z Maria Puig Soler low" {
		t.Fatalf("after sign-in at crewjam's IdP: %d %q (failures %v)", resp.StatusCode, body, ev.failed)
	}
}

var (
	anyAction = regexp.MustCompile(`<form[^>]*action="([^"]+)"`)
	anyInput  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

func readAll(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b)
}

func formAction(t *testing.T, page string) string {
	t.Helper()
	m := anyAction.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

func formFields(page string) url.Values {
	v := url.Values{}
	for _, m := range anyInput.FindAllStringSubmatch(page, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

func postFrom(t *testing.T, c *http.Client, action string, form url.Values, origin string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
