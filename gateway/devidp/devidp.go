// Package devidp is the DEVELOPMENT IdCAT OpenID provider: it offers the
// synthetic citizens on a login page and issues real RS256-signed ID tokens
// after an authorization-code flow with PKCE S256. It is started only in dev
// mode and holds no real person's data.
package devidp

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Citizen is an identity the provider offers.
type Citizen struct {
	DocType, DocNumber       string
	Name, Surname1, Surname2 string
	BirthDate                string // YYYY-MM-DD
	Label                    string // shown on the login page, e.g. the archetype
	// Employer is the administration a public employee works for; their
	// ID token says so (public_employee_of), as a public employee's
	// certificate would.
	Employer string
}

// Config configures the provider.
type Config struct {
	Citizens     []Citizen
	ClientID     string
	ClientSecret string
	RedirectURIs []string
	// PostLogoutRedirectURIs are where the end-session endpoint may send the
	// browser back to.
	PostLogoutRedirectURIs []string
	// AdminClients are sandbox administrations: client id → secret and
	// administration code. They get JWT access tokens for the admin API
	// with the client credentials grant (audience AdminAudience).
	AdminClients map[string]AdminClient
	Now          func() time.Time
}

// AdminClient is one sandbox administration of the admin API.
type AdminClient struct {
	Secret         string
	Administration string
}

// AdminAudience is the audience of admin API access tokens.
const AdminAudience = "obert-admin"

// Provider is the development OpenID provider.
type Provider struct {
	cfg    Config
	issuer string
	key    *rsa.PrivateKey
	signer jose.Signer
	mux    *http.ServeMux

	mu    sync.Mutex
	auths map[string]*authRequest // pending logins by id
	codes map[string]*authRequest // issued codes
	token map[string]Citizen      // access tokens
}

type authRequest struct {
	clientID, redirectURI, state, nonce, challenge string
	citizen                                        Citizen
	acr                                            string
	// minACR is the weakest level the client asked for (acr_values): the
	// login page offers nothing below it.
	minACR  string
	expires time.Time
}

var acrRank = map[string]int{"low": 1, "substantial": 2, "high": 3}

// weakestOf is the weakest known level among acr_values (space-separated),
// or "" for none.
func weakestOf(values string) string {
	out := ""
	for _, v := range strings.Fields(values) {
		if acrRank[v] > 0 && (out == "" || acrRank[v] < acrRank[out]) {
			out = v
		}
	}
	return out
}

// New makes a provider whose issuer is issuer (its own base URL).
func New(issuer string, cfg Config) (*Provider, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" || len(cfg.RedirectURIs) == 0 {
		return nil, fmt.Errorf("devidp: client id, secret and redirect URIs are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "dev-1", Algorithm: "RS256", Use: "sig"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	p := &Provider{cfg: cfg, issuer: strings.TrimSuffix(issuer, "/"), key: key, signer: signer, mux: http.NewServeMux(),
		auths: map[string]*authRequest{}, codes: map[string]*authRequest{}, token: map[string]Citizen{}}
	p.mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	p.mux.HandleFunc("GET /jwks", p.jwks)
	p.mux.HandleFunc("GET /authorize", p.authorize)
	p.mux.HandleFunc("POST /authorize", p.complete)
	p.mux.HandleFunc("POST /token", p.tokenEndpoint)
	p.mux.HandleFunc("GET /userinfo", p.userinfo)
	p.mux.HandleFunc("GET /logout", p.endSession)
	return p, nil
}

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self' "+p.redirectOrigins()+"; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	p.mux.ServeHTTP(w, r)
}

func (p *Provider) redirectOrigins() string {
	var o []string
	for _, r := range p.cfg.RedirectURIs {
		if u, err := url.Parse(r); err == nil {
			o = append(o, u.Scheme+"://"+u.Host)
		}
	}
	return strings.Join(o, " ")
}

// Issuer is the provider's issuer URL.
func (p *Provider) Issuer() string { return p.issuer }

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": p.issuer, "authorization_endpoint": p.issuer + "/authorize", "token_endpoint": p.issuer + "/token",
		"userinfo_endpoint": p.issuer + "/userinfo", "jwks_uri": p.issuer + "/jwks", "end_session_endpoint": p.issuer + "/logout",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"grant_types_supported":                 []string{"authorization_code", "client_credentials"},
		"scopes_supported":                      []string{"openid", "profile"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.key.PublicKey, KeyID: "dev-1", Algorithm: "RS256", Use: "sig"}}})
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="ca"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Proveïdor d'identitat de DESENVOLUPAMENT</title>
<link rel="stylesheet" href="/style.css"></head>
<body><main>
<h1>Proveïdor d'identitat de DESENVOLUPAMENT</h1>
<p class="warn"><strong>Això no és IdCAT.</strong> Identitats sintètiques només per a proves. / This is not IdCAT: synthetic identities for testing only.</p>
<form method="post" action="/authorize">
<input type="hidden" name="auth" value="{{.Auth}}">
<fieldset><legend>Nivell de seguretat / Level of assurance</legend>
{{if le .Min 2}}<label><input type="radio" name="acr" value="substantial" checked> Substancial (codi d'un sol ús)</label>{{end}}
<label><input type="radio" name="acr" value="high"{{if ge .Min 3}} checked{{end}}> Alt (certificat)</label>
{{if le .Min 1}}<label><input type="radio" name="acr" value="low"> Baix (usuari i contrasenya)</label>{{end}}
</fieldset>
<h2>Tria una persona / Choose a person</h2>
<ul>{{range .Citizens}}
<li><button type="submit" name="citizen" value="{{.DocNumber}}">{{.Name}} {{.Surname1}} {{.Surname2}} — {{.DocType}} {{.DocNumber}}{{if .Label}} ({{.Label}}){{end}}</button></li>{{end}}
</ul></form></main></body></html>`))

// signedOutPage ends a logout that names no address to go back to.
var signedOutPage = template.Must(template.New("signed-out").Parse(`<!DOCTYPE html>
<html lang="ca"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Heu tancat la sessió</title>
<link rel="stylesheet" href="/style.css"></head>
<body><main>
<h1>Heu tancat la sessió</h1>
<p lang="es">Ha cerrado la sesión.</p>
<p lang="en">You have signed out.</p>
<p class="warn">Proveïdor d'identitat de DESENVOLUPAMENT: això no és IdCAT. / This is not IdCAT.</p>
</main></body></html>`))

const css = `h1{font-size:1.5rem}body{overflow-wrap:break-word;font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:40rem;color:#1a1a1a;background:#fff}
.warn{background:#fff3cd;border:2px solid #8a6d00;padding:.5rem}ul{list-style:none;padding:0}li{margin:.4rem 0}
button{width:100%;min-height:44px;text-align:left;padding:.5rem;font-size:1rem;background:#f0f4ff;border:1px solid #1f3a93;color:#102060}
button:focus{outline:3px solid #000}label{display:block;min-height:32px}fieldset{margin-bottom:1rem;min-width:0}button{overflow-wrap:anywhere;white-space:normal}`

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.cfg.ClientID || !slices.Contains(p.cfg.RedirectURIs, q.Get("redirect_uri")) {
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		!slices.Contains(strings.Fields(q.Get("scope")), "openid") {
		redirectError(w, r, q.Get("redirect_uri"), q.Get("state"), "invalid_request")
		return
	}
	id := rand.Text()
	p.mu.Lock()
	min := weakestOf(q.Get("acr_values"))
	p.auths[id] = &authRequest{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), state: q.Get("state"),
		nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), minACR: min, expires: p.cfg.Now().Add(10 * time.Minute)}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	loginPage.Execute(w, map[string]any{"Auth": id, "Citizens": p.cfg.Citizens, "Min": acrRank[min]})
}

func (p *Provider) complete(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	p.mu.Lock()
	ar := p.auths[r.PostFormValue("auth")]
	delete(p.auths, r.PostFormValue("auth"))
	p.mu.Unlock()
	if ar == nil || p.cfg.Now().After(ar.expires) {
		http.Error(w, "unknown or expired login", http.StatusBadRequest)
		return
	}
	i := slices.IndexFunc(p.cfg.Citizens, func(c Citizen) bool { return c.DocNumber == r.PostFormValue("citizen") })
	if i < 0 {
		http.Error(w, "unknown citizen", http.StatusBadRequest)
		return
	}
	ar.citizen, ar.acr = p.cfg.Citizens[i], r.PostFormValue("acr")
	if ar.acr != "low" && ar.acr != "high" {
		ar.acr = "substantial"
	}
	if acrRank[ar.acr] < acrRank[ar.minACR] {
		ar.acr = ar.minACR // a level below the one asked for is not given
	}
	code := rand.Text()
	ar.expires = p.cfg.Now().Add(time.Minute)
	p.mu.Lock()
	p.codes[code] = ar
	p.mu.Unlock()
	u, _ := url.Parse(ar.redirectURI)
	v := u.Query()
	v.Set("code", code)
	v.Set("state", ar.state)
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (p *Provider) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if r.PostFormValue("grant_type") == "client_credentials" {
		p.clientCredentials(w, id, secret)
		return
	}
	if id != p.cfg.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.cfg.ClientSecret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	if r.PostFormValue("grant_type") != "authorization_code" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	p.mu.Lock()
	ar := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code")) // a code is good once
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	switch {
	case ar == nil || p.cfg.Now().After(ar.expires):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	case ar.redirectURI != r.PostFormValue("redirect_uri") || ar.clientID != id:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != ar.challenge:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verification failed"})
		return
	}
	now := p.cfg.Now()
	c := ar.citizen
	amr := map[string][]string{"low": {"pwd"}, "substantial": {"otp"}, "high": {"cert"}}[ar.acr]
	claims := map[string]any{
		"iss": p.issuer, "aud": ar.clientID, "sub": subOf(c.DocNumber), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": ar.nonce, "given_name": c.Name, "family_name": strings.TrimSpace(c.Surname1 + " " + c.Surname2),
		"surname1": c.Surname1, "surname2": c.Surname2, "document_type": c.DocType, "document_number": c.DocNumber,
		"birthdate": c.BirthDate, "acr": ar.acr, "amr": amr,
	}
	if c.Employer != "" {
		claims["public_employee_of"] = c.Employer
	}
	idToken, err := jwt.Signed(p.signer).Claims(claims).Serialize()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	access := rand.Text()
	p.mu.Lock()
	p.token[access] = c
	p.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	c, ok := p.token[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	p.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": subOf(c.DocNumber), "given_name": c.Name, "surname1": c.Surname1,
		"surname2": c.Surname2, "document_type": c.DocType, "document_number": c.DocNumber, "birthdate": c.BirthDate})
}

// subOf is a stable pairwise subject, as a real provider would issue.
func subOf(doc string) string {
	s := sha256.Sum256([]byte("obert-dev-idp:" + doc))
	return base64.RawURLEncoding.EncodeToString(s[:16])
}

func redirectError(w http.ResponseWriter, r *http.Request, redirect, state, code string) {
	u, _ := url.Parse(redirect)
	v := u.Query()
	v.Set("error", code)
	v.Set("state", state)
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// clientCredentials issues an administration's access token for the
// admin API: a JWT signed with the provider's key, audience AdminAudience,
// naming the administration.
func (p *Provider) clientCredentials(w http.ResponseWriter, id, secret string) {
	c, ok := p.cfg.AdminClients[id]
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	now := p.cfg.Now()
	tok, err := jwt.Signed(p.signer).Claims(map[string]any{"iss": p.issuer, "aud": AdminAudience, "sub": id, "client_id": id,
		"administration": c.Administration, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(), "jti": rand.Text()}).Serialize()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 600})
}

// endSession is OpenID Connect RP-Initiated Logout 1.0. The provider keeps
// no session of its own, so it only checks who asks and where to: the client
// names itself by client_id, or by an id_token_hint the provider issued to it,
// or both, which must then agree; the browser goes back only to a
// post_logout_redirect_uri registered for it, with the state the client sent,
// and without one it is told it has signed out.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client := q.Get("client_id")
	if hint := q.Get("id_token_hint"); hint != "" {
		tok, err := jwt.ParseSigned(hint, []jose.SignatureAlgorithm{jose.RS256})
		var c jwt.Claims
		if err != nil || tok.Claims(&p.key.PublicKey, &c) != nil || c.Issuer != p.issuer || !c.Audience.Contains(p.cfg.ClientID) {
			http.Error(w, "id_token_hint is not an ID token of this provider", http.StatusBadRequest)
			return
		}
		client = cmp.Or(client, p.cfg.ClientID)
	}
	if client != "" && client != p.cfg.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	back := q.Get("post_logout_redirect_uri")
	if back == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		signedOutPage.Execute(w, nil)
		return
	}
	if client == "" {
		http.Error(w, "post_logout_redirect_uri needs client_id or id_token_hint", http.StatusBadRequest)
		return
	}
	if !slices.Contains(p.cfg.PostLogoutRedirectURIs, back) {
		http.Error(w, "unregistered post_logout_redirect_uri", http.StatusBadRequest)
		return
	}
	if st := q.Get("state"); st != "" {
		u, _ := url.Parse(back)
		v := u.Query()
		v.Set("state", st)
		u.RawQuery = v.Encode()
		back = u.String()
	}
	http.Redirect(w, r, back, http.StatusFound)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Running is a provider serving on a loopback listener.
type Running struct {
	*Provider
	srv *http.Server
}

// Start serves a provider on addr ("127.0.0.1:0" for any port).
func Start(ctx context.Context, addr string, cfg Config) (*Running, error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("devidp: listen %s: %w", addr, err)
	}
	p, err := New("http://"+ln.Addr().String(), cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", p)
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		w.Write([]byte(css))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return &Running{Provider: p, srv: srv}, nil
}

// Close stops the provider.
func (r *Running) Close(ctx context.Context) error { return r.srv.Shutdown(ctx) }
