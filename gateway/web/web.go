// Package web is the plumbing every human-facing surface shares: language
// choice and the message catalogue (ca, es, en), CSRF tokens, security
// headers and body limits. It knows nothing of the domain.
package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/text/language"
)

//go:embed i18n/*.json
var i18nFS embed.FS

// Languages Obert speaks, the default first.
var Languages = []string{"ca", "es", "en"}

var matcher = language.NewMatcher([]language.Tag{language.Catalan, language.Spanish, language.English})

// Catalogue holds every message in every language: Obert's own, embedded,
// and the names that administrations' registrations bring (their
// categories, fields and sources), which follow the stored catalogue and
// never replace one of Obert's own.
type Catalogue struct {
	msgs       map[string]map[string]string
	registered atomic.Pointer[map[string]map[string]string]
}

// SetRegistered replaces the texts registrations bring, by language and
// key.
func (c *Catalogue) SetRegistered(msgs map[string]map[string]string) { c.registered.Store(&msgs) }

// LoadCatalogue reads the embedded catalogue and checks that every key
// exists in every language, so a missing translation stops the start.
func LoadCatalogue() (*Catalogue, error) {
	c := &Catalogue{msgs: map[string]map[string]string{}}
	for _, l := range Languages {
		b, err := i18nFS.ReadFile("i18n/" + l + ".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: i18n/%s.json: %w", l, err)
		}
		c.msgs[l] = m
	}
	for _, l := range Languages[1:] {
		for k := range c.msgs["ca"] {
			if c.msgs[l][k] == "" {
				return nil, fmt.Errorf("web: message %q has no %s translation", k, l)
			}
		}
		for k := range c.msgs[l] {
			if c.msgs["ca"][k] == "" {
				return nil, fmt.Errorf("web: message %q exists in %s but not in ca", k, l)
			}
		}
	}
	return c, nil
}

// Has reports whether key exists.
func (c *Catalogue) Has(key string) bool {
	if _, ok := c.msgs["ca"][key]; ok {
		return true
	}
	if reg := c.registered.Load(); reg != nil {
		_, ok := (*reg)["ca"][key]
		return ok
	}
	return false
}

// T translates key into lang, formatting args; an unknown key shows itself,
// which the template checks at start make impossible for static keys.
func (c *Catalogue) T(lang, key string, args ...any) string {
	s, ok := c.msgs[lang][key]
	if !ok {
		if reg := c.registered.Load(); reg != nil {
			s, ok = (*reg)[lang][key]
		}
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Lang picks the request's language: the switch's cookie, then
// Accept-Language, then Catalan.
func Lang(r *http.Request) string {
	if c, err := r.Cookie("obert_lang"); err == nil && slices.Contains(Languages, c.Value) {
		return c.Value
	}
	_, i, _ := matcher.Match(parseAccept(r.Header.Get("Accept-Language"))...)
	return Languages[i]
}

func parseAccept(h string) []language.Tag {
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil {
		return nil
	}
	return tags
}

// SetLang handles GET /lang/{code}?return=/path: it only stores a
// preference, so it needs no CSRF token, and it returns to a local path.
// secure is whether the public URL is https (behind a TLS-terminating
// proxy the request itself arrives in clear).
func SetLang(secure bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		code := r.PathValue("code")
		if !slices.Contains(Languages, code) {
			http.NotFound(w, r)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "obert_lang", Value: code, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure})
		http.Redirect(w, r, LocalPath(r.URL.Query().Get("return"), "/"), http.StatusSeeOther)
	}
}

// LocalPath returns p when it is a path on this site, and fallback when it
// is empty or could lead anywhere else (another host, a scheme, "//" or
// "/\\", which browsers read as another host). Every "return to" parameter
// goes through it.
func LocalPath(p, fallback string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return fallback
	}
	u, err := url.Parse(p)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return fallback
	}
	return u.RequestURI()
}

// CSRF issues and checks form tokens. Signed-in forms are bound to the
// session's secret; anonymous forms to a random cookie (double submit).
type CSRF struct {
	key    []byte
	origin string // the public URL's scheme://host, which forms come from
	secure bool   // the public URL is https: cookies are Secure
}

// NewCSRF makes a CSRF helper keyed with key for the site at publicURL.
// A form's Origin must be the public URL's (a reverse proxy may rewrite
// the request's Host) or the request's own host.
func NewCSRF(key []byte, publicURL string) (*CSRF, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("web: public URL %q: an http(s) URL", publicURL)
	}
	return &CSRF{key: key, origin: u.Scheme + "://" + u.Host, secure: u.Scheme == "https"}, nil
}

const anonCookie = "obert_csrf"

// Token returns the token for forms on this request. sessionSecret is nil
// for anonymous visitors; then an anonymous cookie is set if needed.
func (c *CSRF) Token(w http.ResponseWriter, r *http.Request, sessionSecret []byte) string {
	if sessionSecret != nil {
		return mac(sessionSecret, "session")
	}
	v := ""
	if ck, err := r.Cookie(anonCookie); err == nil && len(ck.Value) >= 20 {
		v = ck.Value
	} else {
		v = rand.Text()
		http.SetCookie(w, &http.Cookie{Name: anonCookie, Value: v, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: c.secure})
		r.AddCookie(&http.Cookie{Name: anonCookie, Value: v})
	}
	return mac(c.key, "anon:"+v)
}

// Valid checks the form's token on an unsafe request, and refuses requests
// that the browser marks as cross-site.
func (c *CSRF) Valid(r *http.Request, sessionSecret []byte) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s == "cross-site" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" && !strings.EqualFold(strings.TrimSuffix(o, "/"), c.origin) {
		// Not the public origin: only the very host the request was sent
		// to (a browser on another name for this server, such as
		// localhost in development) may post.
		if u, err := url.Parse(o); err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	got := r.PostFormValue("csrf")
	if got == "" {
		return false
	}
	var want string
	if sessionSecret != nil {
		want = mac(sessionSecret, "session")
	} else {
		ck, err := r.Cookie(anonCookie)
		if err != nil {
			return false
		}
		want = mac(c.key, "anon:"+ck.Value)
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func mac(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Secure sets the security headers on every response. formOrigins are the
// sign-in providers forms may post to; hsts is for production over https.
func Secure(next http.Handler, formOrigins []string, hsts bool) http.Handler {
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'"
	for _, o := range formOrigins {
		csp += " " + o
	}
	csp += "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// LimitBody caps request bodies at n bytes; reading more fails with
// *http.MaxBytesError, which handlers answer with 413.
func LimitBody(next http.Handler, n int64, tooLarge http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			// Said before anything reads it: 413, not a form that fails
			// to parse and looks forged or malformed.
			tooLarge.ServeHTTP(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

// Problem writes an RFC 9457 problem document.
func Problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}
