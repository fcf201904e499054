package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/folder"
	"github.com/obert-gov/obert/gateway/transparency"
)

var receiptLink = regexp.MustCompile(`href="(/folder/consent/[^"]+/receipt)"`)

// receiptKeys fetches the published receipt keys.
func receiptKeys(t *testing.T, base string) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(base + "/consent/receipt-keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("receipt keys: %v %+v", err, set)
	}
	return set
}

// TestConsentReceipts: every grant has a signed receipt that verifies with
// the published key; after withdrawal the receipt says so; nobody gets
// another person's receipt.
func TestConsentReceipts(t *testing.T) {
	d := startDev(t)
	u, other := newUser(t), newUser(t)
	u.signIn(d.URL, d.citizenOf(t, "older-alone"))
	other.signIn(d.URL, d.citizenOf(t, "single-parent"))
	u.grantCensus(d.URL)
	u.get(d.URL + "/folder/consent")
	m := receiptLink.FindStringSubmatch(u.page)
	if m == nil {
		t.Fatalf("no receipt link on the consent page:\n%s", u.page)
	}
	keys := receiptKeys(t, d.URL)
	if s := u.get(d.URL + m[1]); s != http.StatusOK {
		t.Fatalf("receipt: %d", s)
	}
	r, err := consent.VerifyReceipt([]byte(u.page), keys)
	if err != nil {
		t.Fatalf("receipt does not verify: %v\n%s", err, u.page)
	}
	if r.Status != "active" || r.Services[0].Purposes[0].Purpose != "aid-recommendation" || r.LegalBasis != consent.BasisConsent {
		t.Fatalf("receipt %+v", r)
	}
	if s := other.get(d.URL + m[1]); s != http.StatusNotFound {
		t.Fatalf("another citizen's receipt: %d", s)
	}

	u.get(d.URL + "/folder/consent")
	wf := withdrawForm.FindStringSubmatch(u.page)
	u.post(d.URL+wf[1], map[string][]string{"csrf": {u.hidden("csrf")}})
	u.get(d.URL + m[1])
	r, err = consent.VerifyReceipt([]byte(u.page), keys)
	if err != nil || r.Status != "withdrawn" || r.WithdrawnTimestamp == 0 {
		t.Fatalf("receipt after withdrawal: %+v %v", r, err)
	}
}

// TestRightsExportObjectErase: the citizen sees and downloads everything,
// objects and withdraws the objection, and erases the account; each is in
// the audit log, another citizen is untouched, and the public log still
// verifies after the erasure.
func TestRightsExportObjectErase(t *testing.T) {
	ctx := context.Background()
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	u, other := newUser(t), newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, c)
	u.grantCensus(d.URL)
	u.fetchData(d.URL)
	other.signIn(d.URL, d.citizenOf(t, "single-parent"))
	other.grantCensus(d.URL)

	u.get(d.URL + "/folder/export")
	u.mustSee("Everything Obert holds about you", c.DocNumber, c.Municipality, "Census")
	if s := u.get(d.URL + "/folder/export.json"); s != http.StatusOK {
		t.Fatalf("export.json: %d", s)
	}
	var x struct {
		Identity folder.ExportIdentity `json:"identity"`
		Consents []json.RawMessage     `json:"consents"`
		Facts    []struct {
			Values map[string]any `json:"values"`
		} `json:"facts"`
		Access []audit.Entry `json:"access_log"`
	}
	if err := json.Unmarshal([]byte(u.page), &x); err != nil {
		t.Fatal(err)
	}
	if x.Identity.DocNumber != c.DocNumber || len(x.Consents) != 1 || len(x.Facts) != 1 || x.Facts[0].Values["municipality"] != c.Municipality {
		t.Fatalf("export: %+v", x)
	}
	kinds := map[string]bool{}
	for _, e := range x.Access {
		kinds[e.Kind] = true
	}
	for _, k := range []string{audit.KindSignIn, audit.KindConsentGrant, audit.KindExchangeIntent, audit.KindExchangeOutcome, audit.KindRightsExport} {
		if !kinds[k] {
			t.Errorf("export's access log lacks %s: %v", k, kinds)
		}
	}

	// Objection, and back.
	u.get(d.URL + "/folder/rights")
	u.post(d.URL+"/folder/objection", url.Values{"csrf": {u.hidden("csrf")}, "object": {"1"}})
	u.mustSee("Your objection is recorded", "You have objected")
	u.post(d.URL+"/folder/objection", url.Values{"csrf": {u.hidden("csrf")}, "object": {"0"}})
	u.mustSee("Your objection is withdrawn")

	// Erasure needs the confirmation.
	u.get(d.URL + "/folder/rights")
	if s := u.post(d.URL+"/folder/erase", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusBadRequest {
		t.Fatalf("unconfirmed erasure: %d", s)
	}
	if gs, _ := d.Store.ListGrants(ctx, x.Identity.Subject); len(gs) != 1 {
		t.Fatal("an unconfirmed erasure deleted something")
	}
	u.get(d.URL + "/folder/rights")
	if s := u.post(d.URL+"/folder/erase", url.Values{"csrf": {u.hidden("csrf")}, "confirm": {"yes"}}); s != http.StatusOK {
		t.Fatalf("erasure: %d", s)
	}
	u.mustSee("Your account and your data were deleted")
	if u.get(d.URL + "/folder"); !strings.Contains(u.url, "/?return=") {
		t.Fatalf("still signed in after erasure: %s", u.url)
	}
	if gs, _ := d.Store.ListGrants(ctx, x.Identity.Subject); len(gs) != 0 {
		t.Fatalf("grants after erasure: %v", gs)
	}
	es, _ := d.Audit.EntriesOf(ctx, x.Identity.Subject, audit.Filter{})
	if len(es) != 1 || es[0].Kind != audit.KindRightsErasure {
		t.Fatalf("audit entries after erasure: %+v", es)
	}
	resp, err := http.Get(d.URL + "/log/key")
	if err != nil {
		t.Fatal(err)
	}
	vkey, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyLog(ctx, &transparency.Client{Base: d.URL + "/log", HTTP: http.DefaultClient}, v, nil); err != nil {
		t.Fatalf("public log after erasure: %v", err)
	}
	// The other citizen still has everything.
	other.get(d.URL + "/folder/consent")
	other.mustSee("Retirar") // Catalan, the default
}

// TestRetentionPurgesExpiredFacts: at the end of their retention the facts
// are deleted by the retention job, and the deletion is in the access log.
func TestRetentionPurgesExpiredFacts(t *testing.T) {
	ctx := context.Background()
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, c)
	u.grantCensus(d.URL)
	u.fetchData(d.URL)
	if n, err := d.Retention(ctx, time.Now().Add(24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("retention a day later: %d %v", n, err)
	}
	if n, err := d.Retention(ctx, time.Now().Add(31*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("retention after 31 days: %d %v", n, err)
	}
	u.get(d.URL + "/folder/export")
	u.mustSee("We hold no fetched data now")
	u.get(d.URL + "/folder/access")
	u.mustSee("Data deleted at the end of its retention")
}

// TestPrivacyRecord: /privacy is the record of processing activities,
// generated from the offers and the registered connectors.
func TestPrivacyRecord(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.get(d.URL + "/privacy")
	u.mustSee("Controller", "Departament de Drets Socials", "Data subjects", "Transfers outside the European Union",
		"Security measures", "census-viaoberta", "Consent (GDPR Art. 6(1)(a))")
}

var pauseForm = regexp.MustCompile(`action="(/folder/consent/[^"]+/pause)"`)

// TestPauseResumeAndReceiptStatus: a paused consent fetches and uses
// nothing until resumed, each step recorded; a receipt's status says
// whether it still stands, and a withdrawal supersedes the receipt given
// while the consent was active.
func TestPauseResumeAndReceiptStatus(t *testing.T) {
	d := startDev(t)
	u := consentAndFetch(t, d, d.citizenOf(t, "older-alone"))
	u.get(d.URL + "/folder/consent")
	m := pauseForm.FindStringSubmatch(u.page)
	if m == nil {
		t.Fatalf("no pause button:\n%s", u.page)
	}
	grant := strings.TrimSuffix(strings.TrimPrefix(m[1], "/folder/consent/"), "/pause")
	status := func(id string) map[string]any {
		t.Helper()
		resp, err := http.Get(d.URL + "/consent/receipts/" + id + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Status map[string]any `json:"status"`
		}
		json.NewDecoder(resp.Body).Decode(&doc)
		return doc.Status
	}
	if st := status(grant); st["status"] != "active" || st["superseded"] != false {
		t.Fatalf("status of the active receipt: %v", st)
	}
	if s := u.post(d.URL+m[1], url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("pause: %d", s)
	}
	u.mustSee("Consent paused", "Paused since")
	sent := len(d.Dev.Sim.Received())
	u.fetchData(d.URL)
	if len(d.Dev.Sim.Received()) != sent {
		t.Fatal("a paused consent fetched")
	}
	u.get(d.URL + "/folder/aids")
	if strings.Contains(u.page, "You live in Catalonia: <strong>Met") {
		t.Fatal("a paused consent's data was used")
	}
	if st := status(grant); st["status"] != "paused" || st["superseded"] != true {
		t.Fatalf("status while paused: %v", st)
	}
	u.get(d.URL + "/folder/consent")
	if s := u.post(d.URL+"/folder/consent/"+grant+"/resume", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("resume: %d", s)
	}
	u.fetchData(d.URL)
	if len(d.Dev.Sim.Received()) != sent+1 {
		t.Fatal("a resumed consent did not fetch")
	}
	u.get(d.URL + "/folder/access")
	u.mustSee("Consent paused", "Consent resumed")
	// Withdrawn: the receipt of the active consent is superseded.
	u.get(d.URL + "/folder/consent")
	u.post(d.URL+"/folder/consent/"+grant+"/withdraw", url.Values{"csrf": {u.hidden("csrf")}})
	if st := status(grant); st["status"] != "withdrawn" || st["superseded"] != true || st["currentReceiptID"] != grant+".withdrawn" {
		t.Fatalf("status after withdrawal: %v", st)
	}
	if resp, _ := http.Get(d.URL + "/consent/receipts/cg_nobody/status"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an unknown receipt: %d", resp.StatusCode)
	}
}

// TestConsentLimits: a consent given "at most once a day" and "kept one
// day" asks the source once however many fetches race, refuses the next
// saying why, keeps the data a day, and its receipt states both limits.
func TestConsentLimits(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, d.citizenOf(t, "older-alone"))
	u.get(d.URL + "/folder/consent")
	if s := u.post(d.URL+"/folder/consent", url.Values{"csrf": {u.hidden("csrf")}, "grant": {"census.aid-recommendation"},
		"version.census.aid-recommendation":  {u.hidden("version.census.aid-recommendation")},
		"interval.census.aid-recommendation": {"24h0m0s"}, "life.census.aid-recommendation": {"24h0m0s"}}); s != http.StatusOK {
		t.Fatalf("grant: %d", s)
	}
	u.mustSee("Consulted: At most once a day", "Data kept: One day")
	if s := u.post(d.URL+"/folder/consent", url.Values{"csrf": {u.hidden("csrf")}, "grant": {"tax.aid-recommendation"},
		"version.tax.aid-recommendation": {u.hidden("version.tax.aid-recommendation")}, "interval.tax.aid-recommendation": {"5m"}}); s != http.StatusBadRequest {
		t.Fatalf("a limit not offered: %d", s)
	}
	// Eight fetches at once: the census is asked once.
	u.get(d.URL + "/folder")
	csrf := u.hidden("csrf")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, d.URL+"/folder/data", strings.NewReader(url.Values{"csrf": {csrf}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", d.URL)
			resp, err := u.c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if n := len(d.Dev.Sim.Received()); n != 1 {
		t.Fatalf("the census was asked %d times, want once", n)
	}
	u.fetchData(d.URL)
	u.mustSee("You limited how often this data may be consulted")
	var fetched, expires int64
	d.Store.DB().QueryRowContext(context.Background(), `SELECT fetched_at, expires_at FROM facts`).Scan(&fetched, &expires)
	if expires-fetched != int64(24*time.Hour/time.Microsecond) {
		t.Fatalf("the data is kept %v, want a day", time.Duration(expires-fetched)*time.Microsecond)
	}
	u.get(d.URL + "/folder/consent")
	grant := pauseForm.FindStringSubmatch(u.page)[1]
	grant = strings.TrimSuffix(strings.TrimPrefix(grant, "/folder/consent/"), "/pause")
	u.get(d.URL + "/folder/consent/" + grant + "/receipt")
	if !strings.Contains(u.page, `"fetchIntervalSeconds": 86400`) || !strings.Contains(u.page, `"dataRetentionSeconds": 86400`) {
		t.Fatalf("the receipt does not state the limits:\n%s", u.page)
	}
}

// TestConsentTaxYears: a consent to the tax data may bound the tax years
// the AEAT is asked about. The request names the last year allowed, the
// answer is that year's, the consent page and the receipt say the bounds;
// years on data without periods, in the future or backwards are refused.
func TestConsentTaxYears(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, d.citizenOf(t, "older-alone"))
	last := time.Now().Year() - 1
	u.get(d.URL + "/folder/consent")
	u.mustSee("Which tax years may be consulted")
	version := func(k string) string { return u.hidden("version." + k) }
	for name, form := range map[string]url.Values{
		"years on the census": {"grant": {"census.aid-recommendation"}, "version.census.aid-recommendation": {version("census.aid-recommendation")},
			"from_year.census.aid-recommendation": {strconv.Itoa(last - 2)}},
		"a year to come": {"grant": {"tax.aid-recommendation"}, "version.tax.aid-recommendation": {version("tax.aid-recommendation")},
			"to_year.tax.aid-recommendation": {strconv.Itoa(last + 1)}},
		"backwards": {"grant": {"tax.aid-recommendation"}, "version.tax.aid-recommendation": {version("tax.aid-recommendation")},
			"from_year.tax.aid-recommendation": {strconv.Itoa(last - 1)}, "to_year.tax.aid-recommendation": {strconv.Itoa(last - 3)}},
	} {
		form.Set("csrf", u.hidden("csrf"))
		if s := u.post(d.URL+"/folder/consent", form); s != http.StatusBadRequest {
			t.Fatalf("%s: %d", name, s)
		}
		u.get(d.URL + "/folder/consent")
	}
	from, to := last-3, last-2
	if s := u.post(d.URL+"/folder/consent", url.Values{"csrf": {u.hidden("csrf")}, "grant": {"tax.aid-recommendation"},
		"version.tax.aid-recommendation":   {version("tax.aid-recommendation")},
		"from_year.tax.aid-recommendation": {strconv.Itoa(from)}, "to_year.tax.aid-recommendation": {strconv.Itoa(to)}}); s != http.StatusOK {
		t.Fatalf("grant: %d %s", s, u.page)
	}
	u.mustSee(fmt.Sprintf("Tax years: %d to %d", from, to))
	if s := u.fetchData(d.URL); s != http.StatusOK {
		t.Fatalf("fetch: %d", s)
	}
	got := d.Dev.Sim.Received()
	last1 := got[len(got)-1].Solicitudes.SolicitudTransmision[0]
	if last1.DatosEspecificos == nil || !strings.Contains(string(last1.DatosEspecificos.Inner), fmt.Sprintf("<Exercici>%d</Exercici>", to)) {
		t.Fatalf("the AEAT was not asked for %d: %+v", to, last1.DatosEspecificos)
	}
	held := heldFacts(t, u, d.URL)
	if y, _ := held["tax/aid-recommendation"]["tax_year"].(float64); int(y) != to {
		t.Fatalf("tax facts of %v, want %d", held["tax/aid-recommendation"]["tax_year"], to)
	}
	// The access entry says which year was asked about, and the export
	// carries it as its schema says.
	u.get(d.URL + "/folder/access?category=tax")
	u.mustSee("Tax year asked about", strconv.Itoa(to))
	u.get(d.URL + "/folder/export.json")
	var doc any
	if err := json.Unmarshal([]byte(u.page), &doc); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile("../docs/export-schema.json")
	var schema map[string]any
	json.Unmarshal(raw, &schema)
	for _, p := range conforms(schema, doc, "$") {
		t.Error(p)
	}
	if !strings.Contains(u.page, fmt.Sprintf(`"period": %d`, to)) {
		t.Errorf("the export's access log lacks the tax year asked about")
	}
	u.get(d.URL + "/folder/consent")
	m := receiptLink.FindStringSubmatch(u.page)
	if m == nil {
		t.Fatal("no receipt link")
	}
	u.get(d.URL + m[1])
	if !strings.Contains(u.page, fmt.Sprintf(`"periodFromYear": %d`, from)) || !strings.Contains(u.page, fmt.Sprintf(`"periodToYear": %d`, to)) {
		t.Fatalf("the receipt does not state the years:\n%s", u.page)
	}
}
