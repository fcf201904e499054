package gateway_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors/sim"
)

var withdrawFromEntry = regexp.MustCompile(`<form method="post" action="(/folder/consent/[^"]+/withdraw)"><input type="hidden" name="csrf" value="([^"]+)"><input type="hidden" name="return" value="/folder/access">`)

// TestWithdrawFromAccessEntry: an entry of an exchange says in words on
// what basis it ran (the consent and its date, no identifier) and offers
// to withdraw that consent; withdrawing there returns to the log with a
// confirmation, deletes the data, and the offer goes.
func TestWithdrawFromAccessEntry(t *testing.T) {
	d := startDev(t)
	u := consentAndFetch(t, d, d.citizenOf(t, "older-alone"))
	u.get(d.URL + "/folder/access")
	u.mustSee("Your consent, given on ")
	if strings.Contains(u.page, "Your consent (cns_") {
		t.Fatal("the basis names the consent's identifier")
	}
	m := withdrawFromEntry.FindStringSubmatch(u.page)
	if m == nil {
		t.Fatalf("no entry offers to withdraw its consent:\n%s", u.page)
	}
	if s := u.post(d.URL+m[1], url.Values{"csrf": {m[2]}, "return": {"/folder/access"}}); s != http.StatusOK {
		t.Fatalf("withdraw: %d", s)
	}
	if !strings.HasPrefix(u.url, d.URL+"/folder/access?") {
		t.Fatalf("withdrawal from the log went to %s", u.url)
	}
	u.mustSee("Consent withdrawn. The data obtained with it has been deleted.", "Consent withdrawn")
	if withdrawFromEntry.MatchString(u.page) {
		t.Fatal("the log still offers to withdraw a withdrawn consent")
	}
	var n int
	d.Store.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM facts`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d facts kept after withdrawal", n)
	}
	// An address elsewhere is not followed.
	u.get(d.URL + "/folder/rights")
	if s := u.post(d.URL+"/folder/objection", url.Values{"csrf": {u.hidden("csrf")}, "object": {"1"}, "return": {"https://evil.example/"}}); s != http.StatusOK || !strings.HasPrefix(u.url, d.URL+"/folder/rights") {
		t.Fatalf("objection with a foreign return: %d %s", s, u.url)
	}
}

// TestDataInTheCitizensTerms: fetched data and the export page say dates
// as the citizen's language writes them, yes and no rather than true and
// false, and who signed them in by name.
func TestDataInTheCitizensTerms(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	u := consentAndFetch(t, d, c)
	for _, page := range []string{"data", "export"} {
		if page == "export" {
			u.get(d.URL + "/folder/export")
		}
		u.mustSee(c.RegisteredSince.Format("2 January 2006"), ">Yes<")
		for _, raw := range []string{c.RegisteredSince.Format(time.DateOnly), ">true<", ">false<", ": false", "(alt)"} {
			if strings.Contains(u.page, raw) {
				t.Errorf("the %s page shows %q", page, raw)
			}
		}
	}
	u.mustSee("idCAT (AOC Consortium)")
	u.get(d.URL + "/lang/ca?return=/folder/export")
	u.mustSee(c.RegisteredSince.Format("02/01/2006"), ">Sí<")
}

// TestSourceStatesInTheCitizensTerms: a source's refusal reaches the
// citizen as what they can do about it (the source does not know them,
// is still at it, refused the request), and the entry keeps the state
// code the source answered.
func TestSourceStatesInTheCitizensTerms(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, d.citizenOf(t, "older-alone"))
	u.grantCensus(d.URL)
	for _, c := range []struct{ state, says string }{
		{"0233", "The source administration does not know you: check that your document number is right"},
		{"0226", "It is nothing you did"},
		{"0301", "the administration has to authorise it"},
	} {
		d.Dev.Sim.SetFault(sim.FaultState + c.state)
		u.fetchData(d.URL)
		u.mustSee(c.says)
	}
	d.Dev.Sim.SetFault(sim.FaultNone)
	es, err := d.Audit.EntriesOf(context.Background(), subjectOf(t, d, u), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, e := range es {
		if e.Kind == audit.KindExchangeOutcome {
			states[e.SourceState] = e.Error
		}
	}
	if states["0233"] != "source-not-found" || states["0226"] != "source-refused-request" || states["0301"] != "source-not-authorised" {
		t.Fatalf("the entries do not keep the source's state: %v", states)
	}
}
