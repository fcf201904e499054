package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway"
	"github.com/obert-gov/obert/gateway/credentials"
	"github.com/obert-gov/obert/gateway/documents"
	"github.com/obert-gov/obert/gateway/documents/documentstest"
	"github.com/obert-gov/obert/gateway/store"
)

var documentCSV = regexp.MustCompile(`action="/folder/documents/([A-Z2-7]{20})/revoke"`)

// TestDocumentLifecycle: a citizen who consented and fetched their census
// gets a census certificate as a PDF that poppler finds validly signed and
// that carries its code; /verify shows its data to anyone, says when it is
// revoked, unknown or malformed; another citizen can neither download nor
// revoke it; every step is in the citizen's access log.
func TestDocumentLifecycle(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	u := consentAndFetch(t, d, c)

	if s := u.get(d.URL + "/folder"); s != http.StatusOK || !strings.Contains(u.page, `href="/folder/documents"`) {
		t.Fatalf("the folder does not link the documents: %d", s)
	}
	if s := u.get(d.URL + "/folder/documents"); s != http.StatusOK {
		t.Fatalf("documents page: %d %s", s, u.page)
	}
	u.mustSee("Census certificate (household)")
	if strings.Contains(u.page, `value="tax-certificate"`) {
		t.Fatal("a tax certificate offered without tax data")
	}
	// Issuing needs the form's token.
	if s := u.post(d.URL+"/folder/documents", url.Values{"type": {"census-certificate"}}); s != http.StatusForbidden {
		t.Fatalf("issue without CSRF: %d", s)
	}
	u.get(d.URL + "/folder/documents")
	if s := u.post(d.URL+"/folder/documents", url.Values{"csrf": {u.hidden("csrf")}, "type": {"tax-certificate"}}); s != http.StatusConflict {
		t.Fatalf("tax certificate without tax data: %d", s)
	}
	u.get(d.URL + "/folder/documents")
	if s := u.post(d.URL+"/folder/documents", url.Values{"csrf": {u.hidden("csrf")}, "type": {"census-certificate"}}); s != http.StatusOK {
		t.Fatalf("issue: %d %s", s, u.page)
	}
	m := documentCSV.FindStringSubmatch(u.page)
	if m == nil {
		t.Fatalf("no issued document listed:\n%s", u.page)
	}
	csv := m[1]
	u.mustSee("Document issued", csv)

	// The PDF: signed, and carrying its code.
	if s := u.get(d.URL + "/folder/documents/" + csv + "/pdf"); s != http.StatusOK || !strings.HasPrefix(u.page, "%PDF-") {
		t.Fatalf("download: %d", s)
	}
	path := filepath.Join(t.TempDir(), "census.pdf")
	if err := os.WriteFile(path, []byte(u.page), 0o600); err != nil {
		t.Fatal(err)
	}
	documentstest.CheckPDF(t, path, csv)

	// The same document as an SD-JWT VC, which verifies against the
	// issuer's published key with every claim disclosed, and whose status
	// is valid.
	if s := u.get(d.URL + "/folder/documents/" + csv + "/credential"); s != http.StatusOK {
		t.Fatalf("credential: %d", s)
	}
	sdjwt := u.page
	issuerKey := issuerKeyOf(t, d.URL)
	got, err := credentials.Verify(sdjwt, credentials.VerifyOptions{IssuerKey: issuerKey, Issuer: d.URL})
	if err != nil {
		t.Fatalf("the credential does not verify: %v", err)
	}
	if got.Claims["municipality"] != c.Municipality || got.Claims["verification_code"] != csv {
		t.Fatalf("the credential's claims: %v", got.Claims)
	}
	if revoked := credentialRevoked(t, d.URL, issuerKey, got); revoked {
		t.Fatal("a new credential is revoked")
	}
	// The holder presents only the municipality.
	shown, err := credentials.Present(sdjwt, []string{"municipality"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	part, err := credentials.Verify(shown, credentials.VerifyOptions{IssuerKey: issuerKey, Issuer: d.URL})
	if err != nil || part.Claims["municipality"] != c.Municipality || part.Claims["household_size"] != nil {
		t.Fatalf("a presentation of the municipality alone: %v %v", part.Claims, err)
	}

	// Anyone verifies it, and sees what it says.
	anyone := newUser(t)
	anyone.get(d.URL + "/lang/en?return=/")
	if s := anyone.get(d.URL + "/verify?csv=" + csv); s != http.StatusOK {
		t.Fatalf("verify: %d %s", s, anyone.page)
	}
	anyone.mustSee("Valid document", "Census certificate (household)", gateway.Controller.Name, "Municipality", c.Municipality,
		documents.MaskDocument(c.DocNumber))
	if strings.Contains(anyone.page, c.DocNumber) {
		t.Fatal("the verification page shows the whole document number")
	}
	if s := anyone.get(d.URL + "/verify?csv=" + documents.NewCSV()); s != http.StatusNotFound {
		t.Fatalf("unknown code: %d", s)
	}
	anyone.mustSee("There is no document with this code.")
	if s := anyone.get(d.URL + "/verify?csv=<script>"); s != http.StatusBadRequest {
		t.Fatalf("malformed code: %d", s)
	}
	anyone.mustSee("This is not a CSV")

	// Another citizen can neither download nor revoke it.
	other := newUser(t)
	other.get(d.URL + "/lang/en?return=/")
	other.signIn(d.URL, d.citizenOf(t, "single-parent"))
	if s := other.get(d.URL + "/folder/documents/" + csv + "/pdf"); s != http.StatusNotFound {
		t.Fatalf("another citizen downloaded it: %d", s)
	}
	other.get(d.URL + "/folder/documents")
	if s := other.post(d.URL+"/folder/documents/"+csv+"/revoke", url.Values{"csrf": {other.hidden("csrf")}}); s != http.StatusNotFound {
		t.Fatalf("another citizen revoked it: %d", s)
	}
	if s := anyone.get(d.URL + "/verify?csv=" + csv); s != http.StatusOK {
		t.Fatalf("after another citizen's attempt: %d", s)
	}

	// Its holder revokes it, and then the page says so, without its data.
	u.get(d.URL + "/folder/documents")
	if s := u.post(d.URL+"/folder/documents/"+csv+"/revoke", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("revoke: %d %s", s, u.page)
	}
	u.mustSee("Document revoked")
	if s := anyone.get(d.URL + "/verify?csv=" + strings.ToLower(csv)); s != http.StatusGone {
		t.Fatalf("verify a revoked document: %d", s)
	}
	anyone.mustSee("The holder revoked this document")
	if strings.Contains(anyone.page, c.Municipality) {
		t.Fatal("a revoked document's data is shown")
	}
	if s := u.get(d.URL + "/folder/documents/" + csv + "/pdf"); s != http.StatusOK {
		t.Fatalf("download of a revoked document: %d", s)
	}
	if !credentialRevoked(t, d.URL, issuerKey, got) {
		t.Fatal("the revoked document's credential is not revoked in the status list")
	}
	if s := other.get(d.URL + "/folder/documents/" + csv + "/credential"); s != http.StatusNotFound {
		t.Fatalf("another citizen downloaded the credential: %d", s)
	}

	// The export lists it, with what it says and its revocation.
	u.get(d.URL + "/folder/export.json")
	var x struct {
		Documents []struct {
			Code      string     `json:"code"`
			RevokedAt *time.Time `json:"revoked_at"`
			Fields    []struct {
				Name  string `json:"name"`
				Value any    `json:"value"`
			} `json:"fields"`
		} `json:"documents"`
	}
	if err := json.Unmarshal([]byte(u.page), &x); err != nil || len(x.Documents) != 1 || x.Documents[0].Code != csv ||
		x.Documents[0].RevokedAt == nil || len(x.Documents[0].Fields) == 0 {
		t.Fatalf("the export's documents: %+v %v", x.Documents, err)
	}

	// Who accessed my data: the issue, the verifications and the revocation.
	u.get(d.URL + "/folder/access")
	u.mustSee("Document issued", "Document verified", "Document revoked")
	other.get(d.URL + "/folder/access")
	if strings.Contains(other.page, "Document issued") || strings.Contains(other.page, "Document verified") {
		t.Fatal("another citizen's access log shows the document")
	}
}

// TestVerifyRateLimited: the public verification page is limited by
// address.
func TestVerifyRateLimited(t *testing.T) {
	d := startDev(t)
	u := newUser(t)
	// Past the burst, 429 (allowing for a refill on a slow machine).
	last := 0
	for i := 0; i < gateway.Limits["verify"].Burst+3 && last != http.StatusTooManyRequests; i++ {
		last = u.get(d.URL + "/verify?csv=" + documents.NewCSV())
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("verify over its rate: %d", last)
	}
}

// issuerKeyOf reads the credential issuer's key from its metadata.
func issuerKeyOf(t *testing.T, base string) *ecdsa.PublicKey {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwt-vc-issuer")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var md struct {
		Issuer string `json:"issuer"`
		JWKS   struct {
			Keys []credentials.JWK `json:"keys"`
		} `json:"jwks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&md); err != nil || md.Issuer != base || len(md.JWKS.Keys) != 1 {
		t.Fatalf("issuer metadata: %+v %v", md, err)
	}
	k, err := md.JWKS.Keys[0].PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// credentialRevoked reads the credential's status from the published,
// signed status list.
func credentialRevoked(t *testing.T, base string, key *ecdsa.PublicKey, v credentials.Verified) bool {
	t.Helper()
	if v.Status == nil {
		t.Fatal("the credential carries no status")
	}
	uri, idx := v.Status.URI, v.Status.Index
	if !strings.HasPrefix(uri, base) {
		t.Fatalf("status list %s is not the gateway's", uri)
	}
	resp, err := http.Get(uri)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	list, err := credentials.VerifyStatusListJWT(string(b), key, uri, time.Now())
	if err != nil {
		t.Fatalf("status list: %v", err)
	}
	st, err := list.Get(int(idx))
	if err != nil {
		t.Fatal(err)
	}
	return st != 0
}

// TestShareADocument: a citizen shares the municipality of their census
// certificate with Barcelona City Council for a purpose until a date: the
// share has its own code, shows that field alone to whoever verifies it,
// its credential holds that claim alone, the citizen sees each
// verification and the share in "who accessed my data", and once they
// revoke the share its code and credential say so, while the certificate
// itself stands. Sharing asks for a recent sign-in.
func TestShareADocument(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "older-alone")
	u := consentAndFetch(t, d, c)
	u.get(d.URL + "/folder/documents")
	u.post(d.URL+"/folder/documents", url.Values{"csrf": {u.hidden("csrf")}, "type": {"census-certificate"}})
	original := documentCSV.FindStringSubmatch(u.page)[1]
	until := time.Now().AddDate(0, 0, 20).Format(time.DateOnly)
	share := func(fields []string, recipient, purpose, until string) int {
		u.get(d.URL + "/folder/documents")
		return u.post(d.URL+"/folder/documents/"+original+"/share", url.Values{"csrf": {u.hidden("csrf")}, "field": fields,
			"recipient": {recipient}, "purpose": {purpose}, "until": {until}})
	}
	for name, s := range map[string]int{
		"no field":             share(nil, "ajbcn", "Ajut de menjador", until),
		"unknown recipient":    share([]string{"municipality"}, "nobody", "Ajut de menjador", until),
		"no purpose":           share([]string{"municipality"}, "ajbcn", " ", until),
		"past the certificate": share([]string{"municipality"}, "ajbcn", "Ajut de menjador", time.Now().AddDate(2, 0, 0).Format(time.DateOnly)),
	} {
		if s != http.StatusBadRequest {
			t.Errorf("%s: %d", name, s)
		}
	}
	// A sign-in older than ten minutes shares nothing: the citizen signs
	// in again first.
	if _, err := d.Store.DB().ExecContext(context.Background(), rebindFor(d, `UPDATE sessions SET created_at = created_at - ?`),
		int64(11*time.Minute/time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	if s := share([]string{"municipality"}, "ajbcn", "Ajut de menjador escolar", until); s != http.StatusForbidden {
		t.Fatalf("share on an old sign-in: %d", s)
	}
	u.mustSee("For your safety, sign in again before sharing a document", "/signin/idcat?loa=substantial&return=%2Ffolder%2Fdocuments%23doc-"+original)
	u.signIn(d.URL, c)
	if s := share([]string{"municipality"}, "ajbcn", "Ajut de menjador escolar", until); s != http.StatusOK {
		t.Fatalf("share: %d %s", s, u.page)
	}
	u.mustSee("Document shared", "Barcelona City Council", "Ajut de menjador escolar")
	m := regexp.MustCompile(`action="/folder/documents/([A-Z2-7]{20})/revoke"`).FindAllStringSubmatch(u.page, -1)
	var shared string
	for _, x := range m {
		if x[1] != original {
			shared = x[1]
		}
	}
	if shared == "" {
		t.Fatal("no shared document listed")
	}

	// The administration verifies it: the municipality alone.
	city := newUser(t)
	city.get(d.URL + "/lang/en?return=/")
	if s := city.get(d.URL + "/verify?csv=" + shared); s != http.StatusOK {
		t.Fatalf("verify the share: %d", s)
	}
	city.mustSee("Valid document", c.Municipality)
	if strings.Contains(city.page, "Household") || strings.Contains(city.page, "People in the household") {
		t.Fatal("the share shows more than the municipality")
	}
	if s := u.get(d.URL + "/folder/documents/" + shared + "/credential"); s != http.StatusOK {
		t.Fatalf("the share's credential: %d", s)
	}
	got, err := credentials.Verify(u.page, credentials.VerifyOptions{IssuerKey: issuerKeyOf(t, d.URL), Issuer: d.URL})
	if err != nil || got.Claims["municipality"] != c.Municipality || got.Claims["household_size"] != nil {
		t.Fatalf("the share's credential: %v %v", got.Claims, err)
	}
	u.get(d.URL + "/folder/documents")
	if !regexp.MustCompile(`Verifications</dt><dd>1</dd>`).MatchString(u.page) {
		t.Error("the citizen does not see the share's verification")
	}
	u.get(d.URL + "/folder/access")
	u.mustSee("Barcelona City Council")

	// The citizen stops sharing it.
	u.get(d.URL + "/folder/documents")
	if s := u.post(d.URL+"/folder/documents/"+shared+"/revoke", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("stop sharing: %d", s)
	}
	if s := city.get(d.URL + "/verify?csv=" + shared); s != http.StatusGone {
		t.Fatalf("verify a revoked share: %d", s)
	}
	if !credentialRevoked(t, d.URL, issuerKeyOf(t, d.URL), got) {
		t.Fatal("the revoked share's credential is not revoked")
	}
	if s := city.get(d.URL + "/verify?csv=" + original); s != http.StatusOK {
		t.Fatalf("the certificate itself after its share was revoked: %d", s)
	}
}

// rebindFor writes a query with ? placeholders for the dev gateway's store.
func rebindFor(d *devGateway, q string) string {
	if d.Store.Flavor() == store.Postgres {
		return strings.Replace(q, "?", "$1", 1)
	}
	return q
}
