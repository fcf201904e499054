package signin_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/obert-gov/obert/connectors/scsp"
)

// fuzzRig is a SAML rig whose IdP key is the committed test key, so the
// committed corpus carries signatures that verify.
func fuzzRig(t testing.TB) *samlRig {
	t.Helper()
	kb, err := os.ReadFile("testdata/fuzz-idp.key.pem")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := os.ReadFile("testdata/fuzz-idp.cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := scsp.ParseKeyPEM(kb)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := scsp.ParseCertPEM(cb)
	if err != nil {
		t.Fatal(err)
	}
	return newSAMLRigKey(t, 64<<10, key, cert)
}

// The fuzz target (FuzzClaveVerify, in the package's internal tests)
// checks responses for this flow, at this time, for this SP.
const (
	fuzzRequestID = "_fuzz-request"
	fuzzSP        = "https://obert.test"
)

var fuzzNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// seeds are responses signed by the test key for the fuzz target's flow:
// valid ones, and the shapes the attack corpus uses.
func seeds(t testing.TB, r *samlRig) [][]byte {
	t.Helper()
	r.now = fuzzNow
	valid := func() mint {
		m := r.valid(etree.NewElement("AuthnRequest"))
		m.inResponseTo, m.destination, m.recipient = fuzzRequestID, fuzzSP+"/signin/clave/acs", fuzzSP+"/signin/clave/acs"
		m.audience, m.assertionID = fuzzSP+"/signin/clave/metadata", "_fuzz-assertion"
		m.notBefore, m.notOnOrAfter = fuzzNow.Add(-time.Minute), fuzzNow.Add(5*time.Minute)
		return m
	}
	var out [][]byte
	for _, signResp := range []bool{false, true} {
		m := valid()
		m.signResponse = signResp
		out = append(out, bytesOf(t, r.build(t, m)))
	}
	d := r.build(t, valid())
	orig := d.Root().FindElement("./Assertion")
	evil := orig.Copy()
	evil.CreateAttr("ID", "_evil")
	evil.RemoveChild(evil.FindElement("./Signature"))
	d.Root().InsertChildAt(orig.Index(), evil)
	out = append(out, bytesOf(t, d))
	d = r.build(t, valid())
	d.Root().FindElement("./Issuer").AddChild(etree.NewComment("c"))
	out = append(out, bytesOf(t, d))
	out = append(out, []byte(`<!DOCTYPE r [<!ENTITY x "y">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>`))
	return out
}

// TestWriteFuzzSeeds rewrites the committed corpus when asked:
// OBERT_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds ./gateway/signin/
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("OBERT_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set OBERT_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzClaveVerify")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzClaveVerify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds(t, fuzzRig(t)) {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
