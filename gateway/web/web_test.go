package web_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/obert-gov/obert/gateway/web"
)

func TestCatalogueSpeaksEveryLanguage(t *testing.T) {
	c, err := web.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"home.title", "consent.withdraw", "access.title", "error.csrf"} {
		seen := map[string]bool{}
		for _, l := range web.Languages {
			s := c.T(l, key)
			if s == key || s == "" {
				t.Errorf("%s has no %s text", key, l)
			}
			seen[s] = true
		}
		if len(seen) < 2 {
			t.Errorf("%s reads the same in every language: untranslated", key)
		}
	}
	if got := c.T("en", "access.download", 7); !strings.Contains(got, "7") {
		t.Errorf("arguments not formatted: %q", got)
	}
}

func TestLanguageNegotiation(t *testing.T) {
	for _, tc := range []struct {
		accept, cookie, want string
	}{
		{"", "", "ca"},
		{"es-ES,es;q=0.9,en;q=0.5", "", "es"},
		{"en-GB", "", "en"},
		{"fr-FR,fr;q=0.9", "", "ca"},
		{"de, es;q=0.3", "", "es"},
		{"es", "en", "en"},      // the switch wins
		{"es", "klingon", "es"}, // an unknown cookie is ignored
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.accept != "" {
			r.Header.Set("Accept-Language", tc.accept)
		}
		if tc.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "obert_lang", Value: tc.cookie})
		}
		if got := web.Lang(r); got != tc.want {
			t.Errorf("Accept-Language %q, cookie %q: %s, want %s", tc.accept, tc.cookie, got, tc.want)
		}
	}
}

func TestLanguageSwitchStaysOnSite(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /lang/{code}", web.SetLang(false))
	for ret, want := range map[string]string{
		"/folder/aids":         "/folder/aids",
		"https://evil.example": "/",
		"//evil.example/x":     "/",
		"/\\evil.example":      "/",
		"":                     "/",
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/lang/es?return="+url.QueryEscape(ret), nil))
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != want {
			t.Errorf("return %q: %d → %q, want %q", ret, w.Code, w.Header().Get("Location"), want)
		}
		if !strings.Contains(w.Header().Get("Set-Cookie"), "obert_lang=es") {
			t.Errorf("language not stored: %q", w.Header().Get("Set-Cookie"))
		}
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/lang/xx", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("unknown language: %d", w.Code)
	}
}

func TestCSRF(t *testing.T) {
	c, err := web.NewCSRF([]byte("0123456789abcdef0123456789abcdef"), "https://obert.example")
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("session secret")
	post := func(token string, headers map[string]string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "http://obert.test/folder/consent", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		return r
	}
	tok := c.Token(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), secret)
	if !c.Valid(post(tok, nil), secret) {
		t.Fatal("a genuine token was refused")
	}
	if c.Valid(post(tok, nil), []byte("another session")) {
		t.Error("a token of another session was accepted")
	}
	if c.Valid(post("", nil), secret) {
		t.Error("a missing token was accepted")
	}
	if c.Valid(post(tok, map[string]string{"Sec-Fetch-Site": "cross-site"}), secret) {
		t.Error("a cross-site post was accepted")
	}
	if c.Valid(post(tok, map[string]string{"Origin": "https://evil.example"}), secret) {
		t.Error("a post from another origin was accepted")
	}
	// Behind a proxy that rewrites Host (the request says obert.test), a
	// post from the public origin is the site's own.
	if !c.Valid(post(tok, map[string]string{"Origin": "https://obert.example"}), secret) {
		t.Error("a post from the public origin was refused behind a proxy that rewrites Host")
	}
	if c.Valid(post(tok, map[string]string{"Origin": "http://obert.example"}), secret) {
		t.Error("a post from the public host over plain http was accepted")
	}
	// A browser that reached the server by another name posts from it.
	if !c.Valid(post(tok, map[string]string{"Origin": "http://obert.test"}), secret) {
		t.Error("a post from the request's own host was refused")
	}

	// Anonymous forms are bound to a cookie of their own.
	w := httptest.NewRecorder()
	anon := c.Token(w, httptest.NewRequest(http.MethodGet, "/", nil), nil)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("anonymous token set %d cookies", len(cookies))
	}
	if !cookies[0].Secure {
		t.Error("the anonymous CSRF cookie of an https site is not Secure (the request came in clear, from a TLS-terminating proxy)")
	}
	r := post(anon, nil)
	r.AddCookie(cookies[0])
	if !c.Valid(r, nil) {
		t.Error("a genuine anonymous token was refused")
	}
	r = post(anon, nil)
	r.AddCookie(&http.Cookie{Name: cookies[0].Name, Value: "SOMEONEELSESCOOKIEVALUE"})
	if c.Valid(r, nil) {
		t.Error("an anonymous token with another cookie was accepted")
	}
}

func TestSecurityHeaders(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	for _, hsts := range []bool{false, true} {
		w := httptest.NewRecorder()
		web.Secure(ok, []string{"https://idp.example"}, hsts).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		csp := w.Header().Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "form-action 'self' https://idp.example", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("CSP allows inline script: %q", csp)
		}
		if got := w.Header().Get("Strict-Transport-Security") != ""; got != hsts {
			t.Errorf("HSTS set = %v with hsts = %v", got, hsts)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("headers %v", w.Header())
		}
	}
}

func TestLimitBody(t *testing.T) {
	var parseErr error
	tooLarge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusRequestEntityTooLarge) })
	h := web.LimitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { parseErr = r.ParseForm() }), 1024, tooLarge)
	// Of unknown length: the body is cut at the limit.
	r := httptest.NewRequest(http.MethodPost, "/", io.MultiReader(strings.NewReader("a="+strings.Repeat("x", 4096))))
	r.ContentLength = -1
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(httptest.NewRecorder(), r)
	var tooBig *http.MaxBytesError
	if !errors.As(parseErr, &tooBig) {
		t.Fatalf("a 4 KiB body under a 1 KiB limit parsed: %v", parseErr)
	}
	// Of known length: 413 before the handler runs.
	parseErr = nil
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("a="+strings.Repeat("x", 4096)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || parseErr != nil {
		t.Fatalf("a 4 KiB body of known length: %d, handler ran: %v", w.Code, parseErr != nil)
	}
}

// Names registrations bring are shown, in each language, but never replace
// one of Obert's own texts.
func TestRegisteredNames(t *testing.T) {
	c, err := web.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	if c.Has("category.dependency") {
		t.Fatal("an unregistered category is known")
	}
	own := c.T("ca", "category.census")
	c.SetRegistered(map[string]map[string]string{
		"ca": {"category.dependency": "Dependència", "category.census": "Un altre nom"},
		"en": {"category.dependency": "Dependency"},
	})
	if !c.Has("category.dependency") || c.T("ca", "category.dependency") != "Dependència" || c.T("en", "category.dependency") != "Dependency" {
		t.Fatalf("registered names: %q %q", c.T("ca", "category.dependency"), c.T("en", "category.dependency"))
	}
	if got := c.T("ca", "category.census"); got != own {
		t.Fatalf("a registration replaced Obert's own text: %q", got)
	}
	c.SetRegistered(nil)
	if c.Has("category.dependency") {
		t.Fatal("a deactivated registration's name is still known")
	}
}

// TestOneRegister: the Catalan and Spanish texts speak to the citizen in
// one register, the formal one (vós, usted); buttons say what they do in
// the infinitive or the first person. These words only the informal
// register uses.
func TestOneRegister(t *testing.T) {
	informal := map[string]*regexp.Regexp{
		"ca": regexp.MustCompile(`(?i)\b(teu|teva|teus|teves|pots|vulguis|donis|has (autoritzat|obtingut)|identifica't|obtén|autoritza la|revoca'l)\b|^(comparteix|descarrega|baixa el|retira|desa|tanca|torna|esborra|filtra)\b`),
		"es": regexp.MustCompile(`(?i)\b(tu|tus|tuyo|tuya|puedes|quieras|des|has (autorizado|obtenido)|identifícate|obtén|autoriza la|descarga el)\b|^(borra|retira|filtra) `),
	}
	for lang, re := range informal {
		b, err := os.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			t.Fatal(err)
		}
		for k, v := range msgs {
			if m := re.FindString(v); m != "" {
				t.Errorf("%s %s: %q is informal: %s", lang, k, m, v)
			}
		}
	}
}
