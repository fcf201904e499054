// Package signin signs citizens in and keeps their sessions: the IdCAT
// OpenID Connect relying party (authorization code with PKCE S256, state and
// nonce bound to the browser, ID token verified with go-oidc), and
// server-side sessions with idle and absolute timeouts. Cl@ve over SAML joins
// it next.
//
// It must never import the domain packages: it yields an Identity and a
// Session, and reports sign-ins through the Events hook.
package signin

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Levels of assurance, lowest first.
const (
	LoALow         = "low"
	LoASubstantial = "substantial"
	LoAHigh        = "high"
)

// Identity is who signed in.
type Identity struct {
	Provider  string `json:"provider"`
	DocType   string `json:"doc_type"`
	DocNumber string `json:"doc_number"`
	Name      string `json:"name"`
	Surname1  string `json:"surname1"`
	Surname2  string `json:"surname2"`
	BirthDate string `json:"birth_date,omitempty"`
	LoA       string `json:"loa"`
	// NameID and SessionIndex identify a Cl@ve session for Single Logout.
	NameID       string `json:"name_id,omitempty"`
	SessionIndex string `json:"session_index,omitempty"`
	// Employer is the administration (the register's id) whose public
	// employee signed in, when the provider says so (a public employee's
	// certificate); it opens the public employee's profile.
	Employer string `json:"employer,omitempty"`
}

// Session is a signed-in browser.
type Session struct {
	Subject    string
	Identity   Identity
	CSRFSecret []byte
	CreatedAt  time.Time
	// Acting is what SetActing last set for this session (opaque to the
	// sign-in service), nil for the person themself.
	Acting []byte
	idHash string
}

// Sealer seals what sessions and flows keep.
type Sealer interface {
	Seal(plaintext, context []byte) []byte
	Open(sealed, context []byte) ([]byte, error)
}

// Events reports sign-ins; the gateway records them in the audit log.
// Reasons are stable codes, never token or assertion content.
type Events interface {
	// SignedIn records a sign-in; client describes where it came from
	// (Client).
	SignedIn(ctx context.Context, subject, provider, loa, client string) error
	SignInFailed(ctx context.Context, provider, reason string)
}

// Config configures the sign-in service.
type Config struct {
	Store     Store
	Sealer    Sealer
	Subject   func(docNumber string) string // keyed hash
	Events    Events
	PublicURL string // base URL; the callback is PublicURL + /signin/idcat/callback
	// SecureCookies uses the __Host- prefix and Secure. Browsers drop Secure
	// cookies on plain-HTTP loopback, so development over http turns it off.
	SecureCookies bool
	IdleTimeout   time.Duration // default DefaultIdleTimeout
	MaxAge        time.Duration // default DefaultMaxAge
	Now           func() time.Time
	Logger        *slog.Logger
	// Fail renders a sign-in failure to the person; status and a reason code.
	Fail func(w http.ResponseWriter, r *http.Request, status int, reason string)
	// Post renders a page whose form the browser posts to action (the SAML
	// HTTP-POST binding) on the way in.
	Post func(w http.ResponseWriter, r *http.Request, action string, fields [][2]string)
	// PostSignedOut renders the same kind of page on the way out: the
	// person's session has ended and the form carries a LogoutRequest or
	// LogoutResponse to the IdP, so the page says so. Unset, Post renders it
	// if it is set (its words are then the sign-in page's), else a plain page
	// that says the person has signed out.
	PostSignedOut func(w http.ResponseWriter, r *http.Request, action string, fields [][2]string)
	// ClientIP is the address a request came from (behind trusted proxies,
	// the forwarded one); nil: the peer's. Only its network prefix is kept.
	ClientIP func(r *http.Request) netip.Addr
}

// Service is the sign-in service.
type Service struct {
	cfg   Config
	idcat *idcat
	clave *clave
}

// New returns a Service; call WithIdCAT to enable IdCAT.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Sealer == nil || cfg.Subject == nil || cfg.Events == nil {
		return nil, errors.New("signin: store, sealer, subject and events are required")
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxAge == 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Fail == nil {
		cfg.Fail = func(w http.ResponseWriter, _ *http.Request, status int, reason string) {
			http.Error(w, "sign-in failed: "+reason, status)
		}
	}
	return &Service{cfg: cfg}, nil
}

var postPage = template.Must(template.New("post").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>Obert</title></head>
<body><form method="post" action="{{.Action}}">{{range .Fields}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">{{end}}
<button type="submit">Continue</button></form></body></html>`))

var signedOutPage = template.Must(template.New("signed-out").Parse(`<!doctype html><html lang="ca"><head><meta charset="utf-8">
<title>Heu tancat la sessió — Obert</title></head>
<body><h1>Heu tancat la sessió</h1><p lang="es">Ha cerrado la sesión.</p><p lang="en">You have signed out.</p>
<p>Ho diem al servei d'identificació. / <span lang="es">Se lo decimos al servicio de identificación.</span> /
<span lang="en">We are telling the identity provider.</span></p>
<form method="post" action="{{.Action}}">{{range .Fields}}<input type="hidden" name="{{index . 0}}" value="{{index . 1}}">{{end}}
<button type="submit">Continua / <span lang="es">Continuar</span> / <span lang="en">Continue</span></button></form></body></html>`))

func plainPage(page *template.Template, w http.ResponseWriter, action string, fields [][2]string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	page.Execute(w, map[string]any{"Action": action, "Fields": fields})
}

// post sends the browser to the IdP with a SAML message, on the way in.
func (s *Service) post(w http.ResponseWriter, r *http.Request, action string, fields [][2]string) {
	if s.cfg.Post != nil {
		s.cfg.Post(w, r, action, fields)
		return
	}
	plainPage(postPage, w, action, fields)
}

// postSignedOut sends the browser to the IdP with a SAML message once the
// person's session has ended.
func (s *Service) postSignedOut(w http.ResponseWriter, r *http.Request, action string, fields [][2]string) {
	switch {
	case s.cfg.PostSignedOut != nil:
		s.cfg.PostSignedOut(w, r, action, fields)
	case s.cfg.Post != nil:
		s.cfg.Post(w, r, action, fields)
	default:
		plainPage(signedOutPage, w, action, fields)
	}
}

func (s *Service) cookieName(base string) string {
	if s.cfg.SecureCookies {
		return "__Host-" + base
	}
	return base
}

func (s *Service) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	s.setCookieSite(w, name, value, maxAge, http.SameSiteLaxMode)
}

func (s *Service) setCookieSite(w http.ResponseWriter, name, value string, maxAge int, site http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: site})
}

func hashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

func randomToken() string { return rand.Text() + rand.Text() }

// Current returns the request's session, if any and still valid.
func (s *Service) Current(r *http.Request) (Session, bool) {
	sess, err := s.Lookup(r)
	return sess, err == nil
}

// Sessions end after DefaultIdleTimeout unused, and DefaultMaxAge in all.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 8 * time.Hour
)

// ErrNoSession is a request without a live session: never signed in,
// signed out, or expired.
var ErrNoSession = errors.New("signin: no session")

// Lookup returns the request's session, ErrNoSession when it has none, or
// another error when the sessions cannot be read now: then the citizen is
// still signed in, and is told to try again rather than sent away.
func (s *Service) Lookup(r *http.Request) (Session, error) {
	c, err := r.Cookie(s.cookieName("obert_session"))
	if err != nil || c.Value == "" {
		return Session{}, ErrNoSession
	}
	h := hashID(c.Value)
	ss, err := s.cfg.Store.GetSession(r.Context(), h, s.cfg.Now(), s.cfg.IdleTimeout, s.cfg.MaxAge)
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		s.cfg.Logger.Error("session lookup failed", "err", err)
		return Session{}, fmt.Errorf("signin: sessions unavailable: %w", err)
	}
	plain, err := s.cfg.Sealer.Open(ss.Sealed, []byte("session/"+h))
	if err != nil {
		return Session{}, ErrNoSession
	}
	var sealed sealedSession
	if err := json.Unmarshal(plain, &sealed); err != nil {
		return Session{}, ErrNoSession
	}
	sess := Session{Subject: ss.Subject, Identity: sealed.Identity, CSRFSecret: sealed.CSRF, CreatedAt: ss.CreatedAt, idHash: h}
	if len(ss.Acting) > 0 {
		// A profile that does not open is no profile: the person.
		sess.Acting, _ = s.cfg.Sealer.Open(ss.Acting, []byte("acting/"+h))
	}
	return sess, nil
}

// SetActing sets the profile the request's session acts in, sealed under
// the session (nil: the person themself). It is the session's alone: other
// sessions of the same person keep theirs.
func (s *Service) SetActing(ctx context.Context, r *http.Request, acting []byte) error {
	sess, err := s.Lookup(r)
	if err != nil {
		return err
	}
	var sealed []byte
	if acting != nil {
		sealed = s.cfg.Sealer.Seal(acting, []byte("acting/"+sess.idHash))
	}
	return s.cfg.Store.SetActing(ctx, sess.idHash, sealed)
}

// SubjectOf is the pseudonym of a document number (a person's, or a
// company's NIF), as sessions record it.
func (s *Service) SubjectOf(doc string) string { return s.cfg.Subject(doc) }

// sealedSession is what a session keeps. (Sessions sealed before the ID token
// was dropped also hold an id_token, which is ignored.)
type sealedSession struct {
	Identity Identity `json:"identity"`
	CSRF     []byte   `json:"csrf"`
	Client   string   `json:"client,omitempty"`
}

// start creates a session for id and sets its cookie: always a new id.
func (s *Service) start(ctx context.Context, w http.ResponseWriter, id Identity, client string) (subject, idHash string, err error) {
	token := randomToken()
	h := hashID(token)
	csrf := make([]byte, 32)
	rand.Read(csrf)
	plain, _ := json.Marshal(sealedSession{Identity: id, CSRF: csrf, Client: client})
	subject = s.cfg.Subject(id.DocNumber)
	now := s.cfg.Now()
	if err := s.cfg.Store.PutSession(ctx, StoredSession{IDHash: h, Subject: subject,
		Sealed: s.cfg.Sealer.Seal(plain, []byte("session/"+h)), CreatedAt: now, LastSeen: now}); err != nil {
		return "", "", err
	}
	s.setCookie(w, "obert_session", token, int(s.cfg.MaxAge.Seconds()))
	return subject, h, nil
}

// SignOut handles POST /signout: ends this session, or every session of the
// citizen when the form says everywhere=1. CSRF is checked by the web layer.
func (s *Service) SignOut(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.Current(r)
	if ok {
		var err error
		if r.PostFormValue("everywhere") == "1" {
			_, err = s.cfg.Store.DeleteSessionsOf(r.Context(), sess.Subject)
		} else {
			err = s.cfg.Store.DeleteSession(r.Context(), sess.idHash)
		}
		if err != nil {
			s.cfg.Fail(w, r, http.StatusServiceUnavailable, "signout-failed")
			return
		}
	}
	s.setCookie(w, "obert_session", "", -1)
	if ok && (s.claveLogout(w, r, sess) || s.idcatLogout(w, r, sess)) {
		return
	}
	http.Redirect(w, r, SignedOutPath, http.StatusSeeOther)
}

// SignedOutPath is where every way of signing out ends: the home page,
// which says the person has signed out. The IdCAT provider must have
// PublicURL + SignedOutPath among its post-logout redirect URIs.
const SignedOutPath = "/?done=signed_out"

// flow is a sign-in in progress.
type flow struct {
	Provider  string `json:"provider"`
	State     string `json:"state,omitempty"`
	Nonce     string `json:"nonce,omitempty"`
	Verifier  string `json:"verifier,omitempty"`
	RequestID string `json:"request_id,omitempty"` // SAML AuthnRequest ID
	LoA       string `json:"loa,omitempty"`        // minimum level requested
	Return    string `json:"return"`
}

func (s *Service) putFlow(ctx context.Context, w http.ResponseWriter, f flow) error {
	token := randomToken()
	h := hashID(token)
	plain, _ := json.Marshal(f)
	if err := s.cfg.Store.PutFlow(ctx, StoredFlow{IDHash: h, Sealed: s.cfg.Sealer.Seal(plain, []byte("flow/"+h)),
		ExpiresAt: s.cfg.Now().Add(10 * time.Minute)}); err != nil {
		return err
	}
	// The SAML response arrives by a cross-site POST from the IdP, which
	// SameSite=Lax cookies do not follow; over https the flow cookie is
	// SameSite=None (still HttpOnly, Secure, __Host-, and single-use).
	site := http.SameSiteLaxMode
	if f.Provider == ProviderClave && s.cfg.SecureCookies {
		site = http.SameSiteNoneMode
	}
	s.setCookieSite(w, "obert_signin", token, 600, site)
	return nil
}

// finish starts the session of a verified identity, records the sign-in and
// sends the browser on; a sign-in that cannot be recorded does not happen.
func (s *Service) finish(w http.ResponseWriter, r *http.Request, provider string, id Identity, ret string) {
	subject, idHash, err := s.start(r.Context(), w, id, s.client(r))
	if err != nil {
		s.cfg.Events.SignInFailed(r.Context(), provider, "unavailable")
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "unavailable")
		return
	}
	if err := s.cfg.Events.SignedIn(r.Context(), subject, provider, id.LoA, s.client(r)); err != nil {
		s.cfg.Store.DeleteSession(r.Context(), idHash)
		s.setCookie(w, "obert_session", "", -1)
		s.cfg.Fail(w, r, http.StatusServiceUnavailable, "audit-unavailable")
		return
	}
	http.Redirect(w, r, ret, http.StatusSeeOther)
}

func (s *Service) takeFlow(w http.ResponseWriter, r *http.Request) (flow, error) {
	c, err := r.Cookie(s.cookieName("obert_signin"))
	if err != nil || c.Value == "" {
		return flow{}, ErrNotFound
	}
	s.setCookie(w, "obert_signin", "", -1)
	h := hashID(c.Value)
	sf, err := s.cfg.Store.TakeFlow(r.Context(), h, s.cfg.Now())
	if err != nil {
		return flow{}, err
	}
	plain, err := s.cfg.Sealer.Open(sf.Sealed, []byte("flow/"+h))
	if err != nil {
		return flow{}, ErrNotFound
	}
	var f flow
	if err := json.Unmarshal(plain, &f); err != nil {
		return flow{}, ErrNotFound
	}
	return f, nil
}

// SetPages sets how failures and SAML POST forms are shown, once the pages
// exist.
func (s *Service) SetPages(fail func(w http.ResponseWriter, r *http.Request, status int, reason string),
	post func(w http.ResponseWriter, r *http.Request, action string, fields [][2]string)) {
	s.cfg.Fail, s.cfg.Post = fail, post
}

// SetSignedOutPage sets the page that carries a SAML message to the IdP
// after sign-out (Config.PostSignedOut), once the pages exist.
func (s *Service) SetSignedOutPage(post func(w http.ResponseWriter, r *http.Request, action string, fields [][2]string)) {
	s.cfg.PostSignedOut = post
}

// IdCATConfig configures the IdCAT relying party.
type IdCATConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	HTTPClient   *http.Client // for discovery, token and keys; nil: default
	// DocumentClaim names the claim that carries the DNI/NIE (default
	// document_number); it may come from the ID token or userinfo.
	DocumentClaim string
}

type idcat struct {
	issuer     string
	issParam   bool   // the provider sends iss in authorization responses (RFC 9207)
	endSession string // RP-initiated logout endpoint, if the provider has one
	docClaim   string
	provider   *oidc.Provider
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	client     *http.Client
}

// WithIdCAT discovers the provider at cfg.Issuer and enables IdCAT sign-in.
func (s *Service) WithIdCAT(ctx context.Context, cfg IdCATConfig) error {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	ctx = oidc.ClientContext(ctx, hc)
	p, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return fmt.Errorf("signin: IdCAT discovery at %s: %w", cfg.Issuer, err)
	}
	var meta struct {
		IssParam   bool   `json:"authorization_response_iss_parameter_supported"`
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&meta); err != nil {
		return fmt.Errorf("signin: IdCAT discovery at %s: %w", cfg.Issuer, err)
	}
	s.idcat = &idcat{
		issuer:     cfg.Issuer,
		issParam:   meta.IssParam,
		endSession: meta.EndSession,
		docClaim:   cmp.Or(cfg.DocumentClaim, "document_number"),
		provider:   p,
		client:     hc,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: strings.TrimSuffix(s.cfg.PublicURL, "/") + "/signin/idcat/callback",
			Scopes:      []string{oidc.ScopeOpenID, "profile"}},
		// Only asymmetric algorithms: never none, never HS* keyed with our secret.
		verifier: p.VerifierContext(oidc.ClientContext(context.Background(), hc), &oidc.Config{ClientID: cfg.ClientID,
			SupportedSigningAlgs: []string{oidc.RS256, oidc.ES256, oidc.PS256}, Now: s.cfg.Now}),
	}
	return nil
}

// IdCATEnabled reports whether IdCAT sign-in is configured.
func (s *Service) IdCATEnabled() bool { return s.idcat != nil }
