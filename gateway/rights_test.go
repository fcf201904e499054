package gateway_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/obert-gov/obert/consent"
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
