package devidp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/crewjam/saml"
)

// The eIDAS attribute names and levels the development Cl@ve asserts.
const (
	eidasPersonIdentifier = "http://eidas.europa.eu/attributes/naturalperson/PersonIdentifier"
	eidasGivenName        = "http://eidas.europa.eu/attributes/naturalperson/CurrentGivenName"
	eidasFamilyName       = "http://eidas.europa.eu/attributes/naturalperson/CurrentFamilyName"
	eidasDateOfBirth      = "http://eidas.europa.eu/attributes/naturalperson/DateOfBirth"
	eidasLoA              = "http://eidas.europa.eu/LoA/"
)

// ClaveConfig configures the development Cl@ve IdP.
type ClaveConfig struct {
	Citizens []Citizen
	// SPMetadataURL is the one service provider it serves: its metadata is
	// fetched over HTTP on first use, as a real federation would register it.
	SPMetadataURL string
	HTTPClient    *http.Client
	Now           func() time.Time
}

// ClaveIdP is the DEVELOPMENT Cl@ve identity provider: crewjam/saml's
// IdentityProvider, which signs responses with its own key and encrypts
// assertions to the SP's encryption certificate, with a login page that
// offers the synthetic citizens and the three eIDAS levels of assurance.
type ClaveIdP struct {
	cfg  ClaveConfig
	idp  *saml.IdentityProvider
	base string
	srv  *http.Server

	mu sync.Mutex
	sp *saml.EntityDescriptor
}

// StartClave serves the development Cl@ve IdP on addr ("127.0.0.1:0" for
// any port).
func StartClave(ctx context.Context, addr string, cfg ClaveConfig) (*ClaveIdP, error) {
	if cfg.SPMetadataURL == "" {
		return nil, fmt.Errorf("devidp: the SP metadata URL is required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key, cert, err := selfSigned("Cl@ve DEVELOPMENT IdP", cfg.Now())
	if err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("devidp: listen %s: %w", addr, err)
	}
	c := &ClaveIdP{cfg: cfg, base: "http://" + ln.Addr().String()}
	mustURL := func(p string) url.URL { u, _ := url.Parse(c.base + p); return *u }
	c.idp = &saml.IdentityProvider{
		Key: key, Certificate: cert,
		MetadataURL: mustURL("/metadata"), SSOURL: mustURL("/sso"), LogoutURL: mustURL("/slo"),
		LogoutBindings:          []string{saml.HTTPPostBinding},
		ServiceProviderProvider: c, SessionProvider: c,
		Logger: log.New(io.Discard, "", 0),
		OnError: func(w http.ResponseWriter, _ *http.Request, status int, err error) {
			http.Error(w, "Cl@ve (development) refused the request: "+err.Error(), status)
		},
		ResponseFormTemplate:    claveResponsePage,
		WantAuthnRequestsSigned: true,
		SignatureMethod:         "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
		// An assertion at the level the person chose; a request for more is
		// answered with NoAuthnContext, as Cl@ve does.
		EnforceRequestedAuthnContext: true,
		AuthnContextClassStrengths:   map[string]int{eidasLoA + "low": 1, eidasLoA + "substantial": 2, eidasLoA + "high": 3},
	}
	mux := http.NewServeMux()
	mux.Handle("/", c.idp.Handler())
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Write([]byte(css))
	})
	mux.HandleFunc("GET /autopost.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(autopost))
	})
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go c.srv.Serve(ln)
	return c, nil
}

// MetadataURL is where the IdP publishes its metadata.
func (c *ClaveIdP) MetadataURL() string { return c.base + "/metadata" }

// URL is the IdP's base URL.
func (c *ClaveIdP) URL() string { return c.base }

// Close stops the IdP.
func (c *ClaveIdP) Close(ctx context.Context) error { return c.srv.Shutdown(ctx) }

// GetServiceProvider implements saml.ServiceProviderProvider.
func (c *ClaveIdP) GetServiceProvider(r *http.Request, id string) (*saml.EntityDescriptor, error) {
	if id != c.cfg.SPMetadataURL {
		return nil, os.ErrNotExist
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sp != nil {
		return c.sp, nil
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, c.cfg.SPMetadataURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("devidp: SP metadata: %s", resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(raw, &md); err != nil {
		return nil, fmt.Errorf("devidp: SP metadata: %w", err)
	}
	c.sp = &md
	return c.sp, nil
}

var claveLogin = template.Must(template.New("clave").Parse(`<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cl@ve de DESARROLLO</title>
<link rel="stylesheet" href="/style.css"></head>
<body><main>
<h1>Cl@ve de DESARROLLO</h1>
<p class="warn"><strong>Esto no es Cl@ve.</strong> Identidades sintéticas solo para pruebas. / This is not Cl@ve: synthetic identities for testing only.</p>
<form method="post" action="/sso">
<input type="hidden" name="SAMLRequest" value="{{.SAMLRequest}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
<fieldset><legend>Nivel de seguridad / Level of assurance</legend>
<label><input type="radio" name="loa" value="substantial" checked> Sustancial (Cl@ve PIN)</label>
<label><input type="radio" name="loa" value="high"> Alto (certificado o DNIe)</label>
<label><input type="radio" name="loa" value="low"> Bajo (usuario y contraseña)</label>
</fieldset>
<h2>Elige una persona / Choose a person</h2>
<ul>{{range .Citizens}}
<li><button type="submit" name="citizen" value="{{.DocNumber}}">{{.Name}} {{.Surname1}} {{.Surname2}} — {{.DocType}} {{.DocNumber}}{{if .Label}} ({{.Label}}){{end}}</button></li>{{end}}
</ul></form></main></body></html>`))

// claveResponsePage carries the IdP's Response to a sign-in, or its
// LogoutResponse to a sign-out, back to the service provider; crewjam/saml
// renders both with it, so it tells them apart by the message it carries.
var claveResponsePage = template.Must(template.New("clave-response").Funcs(template.FuncMap{"signedOut": isLogoutResponse}).Parse(`<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if signedOut .SAMLResponse}}Ha cerrado la sesión — {{end}}Cl@ve de DESARROLLO</title>
<link rel="stylesheet" href="/style.css"></head>
<body><main>
{{if signedOut .SAMLResponse}}<h1>Ha cerrado la sesión</h1>
<p lang="ca">Heu tancat la sessió.</p>
<p lang="en">You have signed out.</p>
{{else}}<h1>Cl@ve de DESARROLLO</h1>
{{end}}<p>Le devolvemos al servicio. / <span lang="ca">Us tornem al servei.</span> / <span lang="en">Taking you back to the service.</span></p>
<form method="post" action="{{.URL}}" id="autopost">
<input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
<button type="submit">Continuar / <span lang="ca">Continua</span> / <span lang="en">Continue</span></button>
</form></main>
<script src="/autopost.js"></script>
</body></html>`))

const autopost = `document.getElementById("autopost").submit();`

// isLogoutResponse reports whether a base64 SAML message is a LogoutResponse.
func isLogoutResponse(encoded string) bool {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return false
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		t, err := d.Token()
		if err != nil {
			return false
		}
		if se, ok := t.(xml.StartElement); ok {
			return se.Name.Space == "urn:oasis:names:tc:SAML:2.0:protocol" && se.Name.Local == "LogoutResponse"
		}
	}
}

// GetSession implements saml.SessionProvider: the login page, then the
// chosen citizen at the chosen level.
func (c *ClaveIdP) GetSession(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) *saml.Session {
	doc := r.PostFormValue("citizen")
	if doc == "" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		claveLogin.Execute(w, map[string]any{"SAMLRequest": r.PostFormValue("SAMLRequest"),
			"RelayState": r.PostFormValue("RelayState"), "Citizens": c.cfg.Citizens})
		return nil
	}
	i := slices.IndexFunc(c.cfg.Citizens, func(ci Citizen) bool { return ci.DocNumber == doc })
	loa := r.PostFormValue("loa")
	if i < 0 || (loa != "low" && loa != "substantial" && loa != "high") {
		http.Error(w, "unknown person or level", http.StatusBadRequest)
		return nil
	}
	ci := c.cfg.Citizens[i]
	now := c.cfg.Now()
	str := func(name, friendly, v string) saml.Attribute {
		return saml.Attribute{Name: name, FriendlyName: friendly, NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
			Values: []saml.AttributeValue{{Type: "xs:string", Value: v}}}
	}
	family := ci.Surname1
	if ci.Surname2 != "" {
		family += " " + ci.Surname2
	}
	return &saml.Session{
		ID: rand.Text(), Index: rand.Text(), CreateTime: now, ExpireTime: now.Add(time.Hour),
		NameID: "ES/ES/" + ci.DocNumber, NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		AuthnContextClassRef: eidasLoA + loa,
		CustomAttributes: []saml.Attribute{
			str(eidasPersonIdentifier, "PersonIdentifier", "ES/ES/"+ci.DocNumber),
			str(eidasGivenName, "FirstName", ci.Name),
			str(eidasFamilyName, "FamilyName", family),
			str(eidasDateOfBirth, "DateOfBirth", ci.BirthDate),
		},
	}
}

// InvalidateSession implements saml.SessionInvalidator: the development IdP
// keeps no session of its own (every sign-in shows the login page), so a
// logout has nothing to end here.
func (c *ClaveIdP) InvalidateSession(http.ResponseWriter, *http.Request, *saml.IdpLogoutRequest) error {
	return nil
}

// selfSigned makes a key and a self-signed certificate valid for a year.
func selfSigned(cn string, now time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"Obert development"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}
