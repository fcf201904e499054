package gateway_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway"
	"github.com/obert-gov/obert/gateway/config"
	"github.com/obert-gov/obert/gateway/obslog"
	"github.com/obert-gov/obert/gateway/transparency"
)

// devGateway is a whole dev-mode gateway on loopback: SQLite in a temporary
// directory, the development IdCAT provider and the Via Oberta simulator on
// their own ephemeral ports, exactly as make run wires them.
type devGateway struct {
	*gateway.Gateway
	URL  string
	logs *logBuffer
}

func startDev(t *testing.T, extra ...string) *devGateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	dir := t.TempDir()
	args := append([]string{"-addr", ln.Addr().String(), "-public-url", base, "-data-dir", dir,
		"-dev-idp-addr", "127.0.0.1:0", "-dev-clave-addr", "127.0.0.1:0", "-sim-addr", "127.0.0.1:0", "-dev-smtp-addr", "127.0.0.1:0"}, extra...)
	cfg, err := config.Load(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	log := obslog.New(logs, "text", slog.LevelDebug)
	ctx := context.Background()
	g, err := gateway.New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(g.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := g.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &devGateway{Gateway: g, URL: base, logs: logs}
}

// logBuffer collects the gateway's log lines from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// citizenOf returns the first synthetic citizen of an archetype.
func (d *devGateway) citizenOf(t *testing.T, archetype string) sim.Citizen {
	t.Helper()
	for _, c := range d.Dev.Citizens {
		if c.Archetype == archetype {
			return c
		}
	}
	t.Fatalf("no synthetic citizen of archetype %q", archetype)
	return sim.Citizen{}
}

// user is a cookie-keeping HTTP client that reads pages like a person would.
type user struct {
	t    *testing.T
	c    *http.Client
	page string // body of the last page
	url  string // where the last request ended
	saml string // the last SAML response the user's browser carried, decoded
}

func newUser(t *testing.T) *user {
	jar, _ := cookiejar.New(nil)
	return &user{t: t, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (u *user) do(req *http.Request) int {
	u.t.Helper()
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	u.page, u.url = string(b), resp.Request.URL.String()
	return resp.StatusCode
}

func (u *user) get(url string) int {
	u.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return u.do(req)
}

func (u *user) post(url string, form url.Values) int {
	u.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return u.do(req)
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hidden returns the value of the first hidden input called name.
func (u *user) hidden(name string) string {
	u.t.Helper()
	for _, m := range hiddenRe.FindAllStringSubmatch(u.page, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	u.t.Fatalf("no hidden input %q on %s:\n%s", name, u.url, u.page)
	return ""
}

func (u *user) mustSee(want ...string) {
	u.t.Helper()
	text := html.UnescapeString(u.page)
	for _, w := range want {
		if !strings.Contains(text, w) {
			u.t.Fatalf("%s does not show %q:\n%s", u.url, w, u.page)
		}
	}
}

// signIn goes through the development IdCAT provider's login page.
func (u *user) signIn(base string, c sim.Citizen) {
	u.t.Helper()
	if s := u.get(base + "/signin/idcat?return=/folder"); s != http.StatusOK {
		u.t.Fatalf("sign-in start: %d %s", s, u.page)
	}
	auth := u.hidden("auth")
	idp := u.url[:strings.Index(u.url, "/authorize")]
	if s := u.post(idp+"/authorize", url.Values{"auth": {auth}, "acr": {"substantial"}, "citizen": {c.DocNumber}}); s != http.StatusOK {
		u.t.Fatalf("sign-in: %d %s", s, u.page)
	}
	if !strings.HasSuffix(u.url, "/folder") {
		u.t.Fatalf("after sign-in at %s, want /folder", u.url)
	}
}

// grantCensus ticks the census consent on the consent page and sends it.
func (u *user) grantCensus(base string) int {
	u.t.Helper()
	u.get(base + "/folder/consent")
	return u.post(base+"/folder/consent", url.Values{"csrf": {u.hidden("csrf")}, "grant": {"census.aid-recommendation"},
		"version.census.aid-recommendation": {u.hidden("version.census.aid-recommendation")}})
}

// fetchData presses "fetch my data" in the folder.
func (u *user) fetchData(base string) int {
	u.t.Helper()
	u.get(base + "/folder")
	return u.post(base+"/folder/data", url.Values{"csrf": {u.hidden("csrf")}})
}

var withdrawForm = regexp.MustCompile(`action="(/folder/consent/[^"]+/withdraw)"`)

// TestWalkingSkeleton is the citizen journey of the foundation through the
// real package boundaries: sign-in with a real OIDC code flow → consent →
// SCSP exchange with the simulator → recommendation → access log with a
// proof that verifies, and a public log that verifies from its tiles.
func TestWalkingSkeleton(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	u := newUser(t)

	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, c)
	u.mustSee("My folder", c.Name)

	// Without consent, fetching sends nothing.
	if s := u.fetchData(d.URL); s != http.StatusOK {
		t.Fatalf("fetch without consent: %d", s)
	}
	if n := len(d.Dev.Sim.Received()); n != 0 {
		t.Fatalf("the simulator received %d requests without consent", n)
	}

	// Consent for census, for aid recommendation.
	u.get(d.URL + "/folder/consent")
	u.mustSee("municipal register")
	if s := u.grantCensus(d.URL); s != http.StatusOK {
		t.Fatalf("grant: %d %s", s, u.page)
	}
	u.mustSee("Withdraw")

	// Fetch: one SCSP request leaves, carrying purpose, consent and requester.
	if s := u.fetchData(d.URL); s != http.StatusOK {
		t.Fatalf("fetch: %d %s", s, u.page)
	}
	got := d.Dev.Sim.Received()
	if len(got) != 1 {
		t.Fatalf("simulator received %d requests, want 1", len(got))
	}
	gen := got[0].Solicitudes.SolicitudTransmision[0].DatosGenericos
	if gen.Titular.Documentacion != c.DocNumber || gen.Solicitante.Consentimiento != "Si" ||
		gen.Solicitante.Finalidad == "" || gen.Solicitante.IdentificadorSolicitante == "" {
		t.Fatalf("SCSP request lacks titular, consent, purpose or requester: %+v", gen)
	}
	// It names the automated action that made it (no official decides
	// it) and the case file, which the access log shows.
	if f := gen.Solicitante.Funcionario; f.NifFuncionario != "S0811001G" || !strings.Contains(f.NombreCompletoFuncionario, "automatitzada") ||
		!strings.HasPrefix(gen.Solicitante.IdExpediente, "OBERT-AJUTS-") {
		t.Fatalf("SCSP request lacks the official or the case file: %+v", gen.Solicitante)
	}
	u.mustSee(c.Municipality)

	// The census data makes tele-assistance eligible.
	u.get(d.URL + "/folder/aids")
	u.mustSee("Home tele-assistance")
	if !regexp.MustCompile(`Home tele-assistance</h4>\s*<p class="small"><strong class="status">Eligible</strong>`).MatchString(html.UnescapeString(u.page)) {
		t.Fatalf("tele-assistance is not shown as eligible:\n%s", u.page)
	}

	// The access page shows the exchange; its proof verifies offline.
	u.get(d.URL + "/folder/access")
	u.mustSee("Census", "Department of Social Rights (Government of Catalonia) → Your city council's municipal register", "Date of birth",
		"<dt>Case file</dt><dd>"+gen.Solicitante.IdExpediente+"</dd>", "<dt>Done by</dt><dd>An automated action of Obert, decided by no person (OBERT-AJUTS")
	m := regexp.MustCompile(`href="(/folder/access/[^"/]+/proof)"`).FindAllStringSubmatch(u.page, -1)
	if len(m) == 0 {
		t.Fatalf("no proof links on the access page:\n%s", u.page)
	}
	verifier, err := note.NewVerifier(d.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	sawExchange := false
	for _, link := range m {
		if s := u.get(d.URL + link[1]); s != http.StatusOK {
			t.Fatalf("proof %s: %d", link[1], s)
		}
		var b audit.Bundle
		if err := json.Unmarshal([]byte(u.page), &b); err != nil {
			t.Fatalf("proof %s: %v", link[1], err)
		}
		if err := audit.VerifyBundle(b, verifier); err != nil {
			t.Fatalf("proof %s does not verify: %v", link[1], err)
		}
		if b.Entry.Kind == "exchange.outcome" && b.Entry.Category == "census" && b.Entry.Outcome == "ok" {
			sawExchange = true
		}
	}
	if !sawExchange {
		t.Fatal("no verified exchange.outcome entry for census on the access page")
	}

	// Anyone can verify the public log from its tiles.
	cl := &transparency.Client{Base: d.URL + "/log"}
	if _, err := audit.VerifyLog(context.Background(), cl, verifier, nil); err != nil {
		t.Fatalf("public log does not verify: %v", err)
	}

	// The citizen's identifiers never reached the logs in clear.
	if strings.Contains(d.logs.String(), c.DocNumber) {
		t.Fatal("the logs contain the citizen's document number")
	}
}

// TestWithdrawStopsExchanges: after withdrawal nothing more leaves and the
// fetched facts are gone.
func TestWithdrawStopsExchanges(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "single-parent")
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, c)
	u.grantCensus(d.URL)
	u.fetchData(d.URL)
	if n := len(d.Dev.Sim.Received()); n != 1 {
		t.Fatalf("simulator received %d requests, want 1", n)
	}
	u.get(d.URL + "/folder/aids")
	u.mustSee("You live in Catalonia: <strong>Met") // the census facts decide it

	u.get(d.URL + "/folder/consent")
	w := withdrawForm.FindStringSubmatch(u.page)
	if w == nil {
		t.Fatalf("no withdraw form:\n%s", u.page)
	}
	if s := u.post(d.URL+w[1], url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("withdraw: %d %s", s, u.page)
	}
	u.mustSee("Withdrawn on")

	u.fetchData(d.URL)
	if n := len(d.Dev.Sim.Received()); n != 1 {
		t.Fatalf("simulator received %d requests after withdrawal, want still 1", n)
	}
	u.get(d.URL + "/folder/aids")
	if strings.Contains(u.page, "You live in Catalonia: <strong>Met") || strings.Contains(u.page, "You live in Catalonia: <strong>Not met") {
		t.Fatal("facts from the withdrawn consent are still used")
	}
	u.get(d.URL + "/folder/access")
	u.mustSee("Consent withdrawn", "Data deleted")
}

// TestFormsNeedCSRF: a form posted without the token or with another
// session's token changes nothing.
func TestFormsNeedCSRF(t *testing.T) {
	d := startDev(t)
	a, b := newUser(t), newUser(t)
	a.signIn(d.URL, d.citizenOf(t, "older-alone"))
	b.signIn(d.URL, d.citizenOf(t, "young-at-risk"))
	b.get(d.URL + "/folder/consent")
	otherToken, version := b.hidden("csrf"), b.hidden("version.census.aid-recommendation")
	for name, tok := range map[string]string{"missing": "", "other session's": otherToken} {
		s := a.post(d.URL+"/folder/consent", url.Values{"csrf": {tok}, "grant": {"census.aid-recommendation"},
			"version.census.aid-recommendation": {version}})
		if s != http.StatusForbidden {
			t.Errorf("%s token: status %d, want 403", name, s)
		}
	}
	a.get(d.URL + "/folder/consent")
	if strings.Contains(a.page, "/withdraw") {
		t.Fatal("a grant was written by a forged form")
	}
}

// TestSignedOutPagesRedirect: the folder needs a session.
func TestSignedOutPagesRedirect(t *testing.T) {
	d := startDev(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/folder", "/folder/consent", "/folder/aids", "/folder/access"} {
		resp, err := c.Get(d.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := "/?return=" + url.QueryEscape(p); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("%s signed out: %d → %q, want 303 to %s", p, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

// TestOperationsEndpoints: health, readiness and metrics.
func TestOperationsEndpoints(t *testing.T) {
	d := startDev(t)
	// In this order: /metrics counts the requests before it.
	for _, c := range []struct{ path, want string }{{"/healthz", "ok"}, {"/readyz", "database"}, {"/privacy", "<h1>"},
		{"/metrics", `obert_http_requests_total{route="GET /healthz",status="200"} 1`},
		{"/metrics", `obert_http_requests_total{route="GET /privacy",status="200"} 1`}} {
		path, want := c.path, c.want
		resp, err := http.Get(d.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %q, want 200 containing %q", path, resp.StatusCode, b, want)
		}
	}

	// Readiness probes do not grow the public log.
	checkpoint := func() string {
		resp, err := http.Get(d.URL + "/log/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Split(string(b), "\n")[1] // tree size
	}
	before := checkpoint()
	for range 3 {
		resp, _ := http.Get(d.URL + "/readyz")
		resp.Body.Close()
	}
	if after := checkpoint(); after != before {
		t.Errorf("readiness probes grew the log from %s to %s entries", before, after)
	}

	// A closed audit log makes the gateway not ready.
	d.Audit.Close(context.Background())
	resp, err := http.Get(d.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "audit") {
		t.Errorf("readyz with the audit log closed: %d %s", resp.StatusCode, b)
	}
}

// TestProdRefusesDevDefaults: production mode does not start with what only
// development may use, and says what is missing.
func TestProdRefusesDevDefaults(t *testing.T) {
	env := map[string]string{"OBERT_MODE": "prod", "OBERT_PUBLIC_URL": "http://obert.example", "OBERT_DATABASE_URL": "sqlite:" + t.TempDir() + "/x.db"}
	_, err := config.Load(nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil {
		t.Fatal("prod started with a plain-HTTP URL and no secrets")
	}
	for _, want := range []string{"OBERT_PUBLIC_URL", "OBERT_SECRET_KEY", "OBERT_AUDIT_SIGNING_KEY", "sign-in provider", "OBERT_VIAOBERTA_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	cfg := config.Config{Mode: config.Prod, DatabaseURL: env["OBERT_DATABASE_URL"], DataDir: t.TempDir()}
	if _, err := gateway.New(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("gateway.New built a prod gateway from an invalid configuration")
	}
}

// TestBadConsentInputWritesNothing: unknown or unserved offers, stale texts
// and other people's grants get a readable error and change nothing.
func TestBadConsentInputWritesNothing(t *testing.T) {
	d := startDev(t)
	a, b := newUser(t), newUser(t)
	a.get(d.URL + "/lang/en?return=/")
	a.signIn(d.URL, d.citizenOf(t, "older-alone"))
	b.signIn(d.URL, d.citizenOf(t, "single-parent"))

	a.get(d.URL + "/folder/consent")
	csrf, version := a.hidden("csrf"), a.hidden("version.census.aid-recommendation")
	for name, form := range map[string]url.Values{
		"unknown purpose":  {"grant": {"census.bogus"}, "version.census.bogus": {"v1"}},
		"unknown category": {"grant": {"housing.aid-recommendation"}, "version.housing.aid-recommendation": {"housing-aid-recommendation-v1"}},
		"one bad among good": {"grant": {"census.aid-recommendation", "employment.nonsense"},
			"version.census.aid-recommendation": {version}},
		"stale text version": {"grant": {"census.aid-recommendation"}, "version.census.aid-recommendation": {"census-aid-recommendation-v0"}},
		"nothing ticked":     {},
	} {
		form.Set("csrf", csrf)
		if s := a.post(d.URL+"/folder/consent", form); s != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, s)
		}
		if !strings.Contains(a.page, "<h1>") || strings.Contains(a.page, "panic") {
			t.Errorf("%s: not a readable page:\n%s", name, a.page)
		}
	}
	a.get(d.URL + "/folder/consent")
	if strings.Contains(a.page, "/withdraw") {
		t.Fatal("a bad form wrote a grant")
	}

	// b grants; a cannot withdraw it.
	b.grantCensus(d.URL)
	m := withdrawForm.FindStringSubmatch(b.page)
	if m == nil {
		t.Fatal("b has no grant")
	}
	a.get(d.URL + "/folder/consent")
	if s := a.post(d.URL+m[1], url.Values{"csrf": {a.hidden("csrf")}}); s != http.StatusNotFound {
		t.Fatalf("withdrawing another person's grant: %d, want 404", s)
	}
	b.get(d.URL + "/folder/consent")
	if !strings.Contains(b.page, m[1]) {
		t.Fatal("another person's grant was withdrawn")
	}
}

// TestBadRequests: unknown routes, malformed and oversized forms get a
// readable page with the right status.
func TestBadRequests(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, d.citizenOf(t, "young-at-risk"))
	u.get(d.URL + "/folder/consent")
	csrf := u.hidden("csrf")

	if s := u.get(d.URL + "/no/such/page"); s != http.StatusNotFound || !strings.Contains(u.page, "<h1>") {
		t.Errorf("unknown route: %d\n%s", s, u.page)
	}
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/folder/consent", strings.NewReader("csrf="+csrf+"&grant=%zz"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s := u.do(req); s != http.StatusBadRequest || !strings.Contains(u.page, "<h1>") {
		t.Errorf("malformed form: %d\n%s", s, u.page)
	}
	big := url.Values{"csrf": {csrf}, "grant": {"census.aid-recommendation"}, "pad": {strings.Repeat("x", 100<<10)}}
	if s := u.post(d.URL+"/folder/consent", big); s != http.StatusRequestEntityTooLarge || !strings.Contains(u.page, "<h1>") {
		t.Errorf("oversized form: %d\n%s", s, u.page)
	}
	u.get(d.URL + "/folder/consent")
	if strings.Contains(u.page, "/withdraw") {
		t.Fatal("a bad request wrote a grant")
	}
	resp, err := http.Get(d.URL + "/log/tile/0/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("bad tile path: %d %s, want problem details", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// consentAndFetch signs c in, grants census consent and fetches once.
func consentAndFetch(t *testing.T, d *devGateway, c sim.Citizen) *user {
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, c)
	u.grantCensus(d.URL)
	if s := u.fetchData(d.URL); s != http.StatusOK {
		t.Fatalf("fetch: %d", s)
	}
	return u
}

var proofLink = regexp.MustCompile(`href="(/folder/access/[^"/]+/proof)"`)

// TestAccessFiltersAndIsolation: the access page filters by category,
// administration and dates; a bad date is an error; nobody sees or proves
// another person's entries.
func TestAccessFiltersAndIsolation(t *testing.T) {
	d := startDev(t)
	a := consentAndFetch(t, d, d.citizenOf(t, "older-alone"))
	b := consentAndFetch(t, d, d.citizenOf(t, "young-at-risk"))

	count := func(u *user, query string) int {
		t.Helper()
		if s := u.get(d.URL + "/folder/access" + query); s != http.StatusOK {
			t.Fatalf("access%s: %d", query, s)
		}
		return len(proofLink.FindAllString(u.page, -1))
	}
	all := count(a, "")
	if all < 4 { // sign-in, grant, intent, outcome
		t.Fatalf("only %d entries", all)
	}
	a.mustSee("Decision", "census-viaoberta")
	bySource := count(a, "?administration=padro-municipal")
	if bySource == 0 || bySource >= all {
		t.Errorf("administration filter: %d of %d", bySource, all)
	}
	// a gave no tax consent: the only tax entries are the refusals to
	// consult it, and no census entry shows under the tax filter.
	if n := count(a, "?category=tax"); n == 0 || n >= all || strings.Contains(a.page, "census-viaoberta") {
		t.Errorf("tax filter shows %d of %d entries", n, all)
	}
	tomorrow := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	today := time.Now().Format(time.DateOnly)
	if n := count(a, "?from="+tomorrow); n != 0 {
		t.Errorf("from tomorrow shows %d entries", n)
	}
	if n := count(a, "?from="+today+"&to="+today); n != all {
		t.Errorf("today shows %d of %d entries", n, all)
	}
	if s := a.get(d.URL + "/folder/access?from=24/11/2026"); s != http.StatusBadRequest {
		t.Errorf("bad date: %d, want 400", s)
	}

	// b's entries are not on a's page, and a cannot download b's proofs.
	b.get(d.URL + "/folder/access")
	bLinks := proofLink.FindAllStringSubmatch(b.page, -1)
	a.get(d.URL + "/folder/access")
	for _, l := range bLinks {
		if strings.Contains(a.page, l[1]) {
			t.Fatalf("a's access page lists b's entry %s", l[1])
		}
		if s := a.get(d.URL + l[1]); s != http.StatusNotFound || strings.Contains(a.page, "inclusion_proof") {
			t.Fatalf("a downloaded b's proof %s: %d", l[1], s)
		}
	}
	for _, bad := range []string{"/folder/access/%00/proof", "/folder/access/" + strings.Repeat("x", 300) + "/proof", "/folder/access/nope/proof"} {
		if s := a.get(d.URL + bad); s != http.StatusNotFound && s != http.StatusBadRequest {
			t.Errorf("%s: %d", bad[:min(len(bad), 40)], s)
		}
	}
}

// TestThreeCategories: with consent for census, tax and working life, one
// press of "fetch my data" sends three signed SCSP requests, one per
// service, and the recommendation uses all three.
func TestThreeCategories(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "long-term-unemployed")
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, c)
	u.get(d.URL + "/folder/consent")
	form := url.Values{"csrf": {u.hidden("csrf")}}
	for _, k := range []string{"census", "tax", "employment"} {
		key := k + ".aid-recommendation"
		form.Add("grant", key)
		form.Set("version."+key, u.hidden("version."+key))
	}
	if s := u.post(d.URL+"/folder/consent", form); s != http.StatusOK {
		t.Fatalf("grant three: %d", s)
	}
	before := len(d.Dev.Sim.Received())
	if s := u.fetchData(d.URL); s != http.StatusOK {
		t.Fatalf("fetch: %d", s)
	}
	got := d.Dev.Sim.Received()[before:]
	codes := map[string]bool{}
	for _, p := range got {
		codes[p.Atributos.CodigoCertificado] = true
		if sol := p.Solicitudes.SolicitudTransmision[0].DatosGenericos.Solicitante; sol.Consentimiento != "Si" || sol.Finalidad == "" {
			t.Errorf("request %s: consent %q, purpose %q", p.Atributos.CodigoCertificado, sol.Consentimiento, sol.Finalidad)
		}
	}
	if len(got) != 3 || !codes["PADRO_RESIDENT_CONVIVENTS"] || !codes["AEAT103I"] || !codes["TGSS_VIDA_LABORAL"] {
		t.Fatalf("the simulator received %v", codes)
	}
	u.get(d.URL + "/folder/aids")
	u.mustSee("Employment programme for the long-term unemployed")
	m := regexp.MustCompile(`(?s)id="aid-employment_plan".*?class="status">([^<]+)<`).FindStringSubmatch(u.page)
	if m == nil || m[1] != "Eligible" {
		t.Fatalf("employment programme status %v", m)
	}
	u.get(d.URL + "/folder/access?category=employment")
	u.mustSee("employment-viaoberta")
}

// TestDevWithAnExternalSimulator: development mode against a Via Oberta
// simulator run on its own still offers its synthetic citizens, and one of
// them signs in and fetches through it.
func TestDevWithAnExternalSimulator(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	gwKey, gwCert, err := scsp.NewSelfSigned("Obert test gateway", now)
	if err != nil {
		t.Fatal(err)
	}
	simKey, simCert, err := scsp.NewSelfSigned("Via Oberta simulator", now)
	if err != nil {
		t.Fatal(err)
	}
	running, err := sim.Start(context.Background(), "127.0.0.1:0", sim.Config{Population: sim.NewPopulation(2026, 60, now),
		Key: simKey, Cert: simCert, Trusted: []*x509.Certificate{gwCert}})
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close(context.Background())
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d := startDev(t, "-viaoberta-url", running.URL, "-scsp-key-file", write("k.pem", scsp.KeyPEM(gwKey)),
		"-scsp-cert-file", write("c.pem", scsp.CertPEM(gwCert)), "-viaoberta-cert-file", write("s.pem", scsp.CertPEM(simCert)))
	if len(d.Dev.Citizens) < 50 {
		t.Fatalf("%d synthetic citizens offered", len(d.Dev.Citizens))
	}
	before := len(running.Server.Received())
	consentAndFetch(t, d, d.citizenOf(t, "older-alone"))
	if len(running.Server.Received()) <= before {
		t.Fatal("nothing was asked of the external simulator")
	}
}

// TestOversizedBodiesAre413: a body over the limit is answered 413 on every
// route, a readable page for people and problem details for the API, and
// nothing is kept.
func TestOversizedBodiesAre413(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, d.citizenOf(t, "older-alone"))
	big := "csrf=x&a=" + strings.Repeat("x", 100<<10)
	for _, path := range []string{"/folder/consent", "/folder/data", "/questionnaire", "/signout", "/folder/alerts"} {
		if s := u.post(d.URL+path, url.Values{"a": {big}}); s != http.StatusRequestEntityTooLarge || !strings.Contains(u.page, "too large") {
			t.Errorf("POST %s with 100 KiB: %d", path, s)
		}
	}
	u.get(d.URL + "/folder/consent")
	if strings.Contains(u.page, "/withdraw") {
		t.Error("an oversized form granted a consent")
	}
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/admin/v1/aids", strings.NewReader(strings.Repeat("x", 100<<10)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("admin API with 100 KiB: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestAccessPages: the access log comes in pages of 50, newest first, with
// links that keep the filter; the filter offers the categories the log
// holds.
func TestAccessPages(t *testing.T) {
	ctx := context.Background()
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, d.citizenOf(t, "older-alone"))
	subject := subjectOf(t, d, u)
	u.grantCensus(d.URL)
	var grant string
	d.Store.DB().QueryRowContext(ctx, `SELECT id FROM consent_grants`).Scan(&grant)
	// Entries as full as an exchange's: fields, connector, decision and
	// the consent in force, which each offers to withdraw.
	var es []audit.Entry
	t0 := time.Now().Add(-time.Hour)
	for i := range 120 {
		es = append(es, audit.Entry{ID: fmt.Sprintf("ae_page_%03d", i), Time: t0.Add(time.Duration(i) * time.Second), Kind: "exchange.outcome",
			Subject: subject, Requester: "gencat-drets-socials", Source: "padro-municipal", Category: "census", Outcome: "ok",
			Purpose: "aid-recommendation", Fields: []string{"municipality_code", "municipality", "county_code", "county", "registered_since",
				"household_size", "minors_in_household", "over_65_in_household", "lives_alone", "birth_date"},
			Connector: "census-viaoberta", DecisionID: fmt.Sprintf("dec_%032d", i), PolicyVersion: strings.Repeat("5", 64),
			ConsentID: grant, LegalBasis: consent.BasisConsent})
	}
	if _, err := d.Audit.AppendAll(ctx, es); err != nil {
		t.Fatal(err)
	}
	entries := func() int { return strings.Count(u.page, `<li class="entry" id=`) }
	u.get(d.URL + "/folder/access?category=census")
	if n := entries(); n != 50 || !strings.Contains(u.page, "Page 1 of 3") || !strings.Contains(u.page, `rel="next" href="/folder/access?category=census&amp;page=2"`) ||
		strings.Contains(u.page, `rel="prev"`) {
		t.Fatalf("first page: %d entries\n%s", n, u.page)
	}
	if !strings.Contains(u.page, "ae_page_119") || strings.Contains(u.page, "ae_page_069") {
		t.Error("the first page is not the newest 50")
	}
	if !strings.Contains(u.page, `<option value="census" selected>`) {
		t.Error("the filter does not offer the log's categories")
	}
	u.get(d.URL + "/folder/access?category=census&page=3")
	if n := entries(); n != 21 || strings.Contains(u.page, `rel="next"`) || !strings.Contains(u.page, `rel="prev"`) {
		t.Fatalf("last page: %d entries", n)
	}
	u.get(d.URL + "/folder/access?category=census")
	t.Logf("a page of 50 entries: %d bytes", len(u.page))
	if len(u.page) > 60_000 {
		t.Errorf("a page of 50 entries of the access log is %d bytes, over the pages' 60 kB", len(u.page))
	}
	u.get(d.URL + "/folder/access?page=99")
	if !strings.Contains(u.page, "Page 3 of 3") {
		t.Errorf("a page past the end does not show the last one")
	}
}

// TestRateLimits: fetches are limited per citizen (another citizen behind
// the same address is not held back), the anonymous questionnaire and the
// administrations' API per address; over the rate the answer is 429 with
// Retry-After, a page for people and problem details for the API.
func TestRateLimits(t *testing.T) {
	d := startDev(t)
	a, b := newUser(t), newUser(t)
	a.get(d.URL + "/lang/en?return=/")
	b.get(d.URL + "/lang/en?return=/")
	a.signIn(d.URL, d.citizenOf(t, "older-alone"))
	b.signIn(d.URL, d.citizenOf(t, "single-parent"))
	burst := gateway.Limits["fetch"].Burst
	for i := range burst {
		if s := a.fetchData(d.URL); s != http.StatusOK {
			t.Fatalf("fetch %d of %d: %d", i+1, burst, s)
		}
	}
	// The bucket refills one fetch every few seconds: a slow machine may
	// have earned one more meanwhile, never two.
	s := a.fetchData(d.URL)
	if s == http.StatusOK {
		s = a.fetchData(d.URL)
	}
	if s != http.StatusTooManyRequests || !strings.Contains(a.page, "Too many requests") {
		t.Fatalf("fetches over the burst of %d: %d", burst, s)
	}
	if s := b.fetchData(d.URL); s != http.StatusOK {
		t.Fatalf("another citizen from the same address: %d", s)
	}
	// Past the burst the answer is 429 (the loops allow for the refills a
	// slow machine earns meanwhile, a few at most).
	q := newUser(t)
	refused := false
	for i := 0; i < gateway.Limits["questionnaire"].Burst+5 && !refused; i++ {
		q.get(d.URL + "/questionnaire")
		refused = q.post(d.URL+"/questionnaire", url.Values{"csrf": {q.hidden("csrf")}}) == http.StatusTooManyRequests
	}
	if !refused {
		t.Fatal("the questionnaire is not limited")
	}
	var resp *http.Response
	for i := 0; i < gateway.Limits["admin"].Burst+20; i++ {
		r, err := http.Get(d.URL + "/admin/v1/aids")
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if resp = r; r.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("admin API over its rate: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestOperatorMetrics: after a citizen's exchange, /metrics has the
// source's requests and latency, the guard's decisions, the audit log's
// appends, the jobs and the catalogue version, and no personal data.
func TestOperatorMetrics(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	consentAndFetch(t, d, c)
	resp, err := http.Get(d.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := string(b)
	for _, want := range []string{
		`obert_source_requests_total{category="census",connector="census-viaoberta",outcome="ok"} 1`,
		`obert_source_request_duration_seconds_count{connector="census-viaoberta"} 1`,
		`obert_source_circuit_open{connector="census-viaoberta"} 0`,
		`obert_guard_decisions_total{purpose="aid-recommendation",result="allow"}`,
		`obert_audit_append_duration_seconds_count{result="ok"}`,
		`obert_audit_append_entries_count`,
		`obert_catalogue_version 0`,
		`obert_sessions_live 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(m, c.DocNumber) || strings.Contains(m, c.Name) {
		t.Error("/metrics carries personal data")
	}
}

// TestMySignins: a citizen sees their open sessions (which device and
// network, never the address) and their sign-ins, and ends a session on
// another device, which is then signed out; another citizen's session
// cannot be ended.
func TestMySignins(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	phone, laptop := newUser(t), newUser(t)
	phone.c.Transport = forwardedFor{ip: "203.0.113.77"} // no trusted proxy: ignored, the peer counts
	for _, u := range []*user{phone, laptop} {
		u.get(d.URL + "/lang/en?return=/")
		u.signIn(d.URL, c)
	}
	laptop.get(d.URL + "/folder/signins")
	laptop.mustSee("My sign-ins", "Open sessions", "this session", "idCAT", "Recent sign-ins", "127.0.0.0/24", "Times in Madrid")
	if strings.Contains(laptop.page, "203.0.113") || strings.Contains(laptop.page, "127.0.0.1") {
		t.Fatal("the page shows an address, or an address a client chose")
	}
	if n := strings.Count(laptop.page, `class="entry session"`); n != 2 {
		t.Fatalf("%d open sessions shown, want 2", n)
	}
	// End the phone's session (the one that is not this one) from the laptop.
	m := regexp.MustCompile(`(?s)<li class="entry session">(.*?)</li>`).FindAllStringSubmatch(laptop.page, -1)
	var other string
	for _, s := range m {
		if !strings.Contains(s[1], "· this session") {
			other = regexp.MustCompile(`action="(/folder/signins/[^"]+/end)"`).FindStringSubmatch(s[1])[1]
		}
	}
	if other == "" {
		t.Fatal("no form to end the other session")
	}
	// Another citizen cannot end it.
	stranger := newUser(t)
	stranger.get(d.URL + "/lang/en?return=/")
	stranger.signIn(d.URL, d.citizenOf(t, "single-parent"))
	stranger.get(d.URL + "/folder/signins")
	if s := stranger.post(d.URL+other, url.Values{"csrf": {stranger.hidden("csrf")}}); s != http.StatusNotFound {
		t.Fatalf("another citizen ended the session: %d", s)
	}
	if s := laptop.post(d.URL+other, url.Values{"csrf": {laptop.hidden("csrf")}}); s != http.StatusOK || !strings.Contains(laptop.page, "The session was ended") {
		t.Fatalf("end the other session: %d", s)
	}
	if n := strings.Count(laptop.page, `class="entry session"`); n != 1 {
		t.Fatalf("%d sessions after ending one", n)
	}
	if phone.get(d.URL + "/folder"); !strings.Contains(phone.url, "/?return=") {
		t.Fatalf("the ended session still works: %s", phone.url)
	}
}

// TestSignOutSaysSo: signing out (through the IdCAT provider's logout)
// lands on the home page, which says the person has signed out.
func TestSignOutSaysSo(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, d.citizenOf(t, "older-alone"))
	u.get(d.URL + "/folder")
	if s := u.post(d.URL+"/signout", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("sign out: %d", s)
	}
	if !strings.HasPrefix(u.url, d.URL+"/") {
		t.Fatalf("after signing out at %s", u.url)
	}
	u.mustSee("You have signed out.")
	if u.get(d.URL + "/folder"); !strings.Contains(u.url, "/?return=") {
		t.Fatalf("still signed in: %s", u.url)
	}
}

// TestAccessSaysWhyInWords: a refused exchange reads, in the citizen's
// language, why it was refused; the codes stay among technical details.
func TestAccessSaysWhyInWords(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, d.citizenOf(t, "older-alone"))
	u.fetchData(d.URL) // nothing consented: every category refused
	u.get(d.URL + "/folder/access")
	u.mustSee("Denied: you had not consented", "Technical details")
	if strings.Contains(u.page, "Denied (no-consent)") {
		t.Error("the refusal is given as a code")
	}
}
