package signin

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors/scsp"
)

// noStore is a Store for tests that never reach it.
type noStore struct{ Store }

type noEvents struct{}

func (noEvents) SignedIn(context.Context, string, string, string, string) error { return nil }
func (noEvents) SignInFailed(context.Context, string, string)                   {}

type plainSealer struct{}

func (plainSealer) Seal(p, _ []byte) []byte          { return p }
func (plainSealer) Open(p, _ []byte) ([]byte, error) { return p, nil }

// fuzzClave is the SP the committed corpus was minted for (see
// TestWriteFuzzSeeds): https://obert.test, at 2026-11-25T12:00Z, trusting
// the committed test IdP key.
func fuzzClave(t testing.TB) *clave {
	t.Helper()
	cb, err := os.ReadFile("testdata/fuzz-idp.cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := scsp.ParseCertPEM(cb)
	if err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(t.TempDir(), "idp.xml")
	os.WriteFile(md, []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://pasarela.clave.test/">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>`+
		base64.StdEncoding.EncodeToString(cert.Raw)+`</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://pasarela.clave.test/sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>`), 0o600)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s, err := New(Config{Store: noStore{}, Sealer: plainSealer{}, Subject: func(d string) string { return d }, Events: noEvents{},
		PublicURL: "https://obert.test", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	sk, sc, _ := scsp.NewSelfSigned("sp", now)
	if err := s.WithClave(context.Background(), ClaveConfig{IdPMetadata: md, SigningKey: sk, SigningCert: sc,
		EncryptionKey: sk, EncryptionCert: sc, Refresh: 1000 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	return s.clave
}

// FuzzClaveVerify feeds arbitrary responses through the whole validation
// path: base64, the XML safety scan, gosaml2's signature validation and
// decryption, and our checks. Nothing may panic; a refusal always has a
// reason; and only the identity the test IdP really signed can ever be
// accepted (anything else would be a signature bypass).
func FuzzClaveVerify(f *testing.F) {
	c := fuzzClave(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		id, reason, err := c.verify(context.Background(), base64.StdEncoding.EncodeToString(raw),
			flow{Provider: ProviderClave, RequestID: "_fuzz-request", LoA: LoASubstantial})
		if err != nil {
			if reason == "" {
				t.Fatalf("refused without a reason: %v", err)
			}
			return
		}
		if id.DocNumber != "12345678Z" || id.LoA != LoASubstantial {
			t.Fatalf("accepted an identity the IdP did not sign: %+v", id.Identity)
		}
	})
}

// TestFuzzCorpusIsDeep: the committed valid seeds verify, so the fuzzer
// starts from responses that reach every check, not just the parser.
func TestFuzzCorpusIsDeep(t *testing.T) {
	c := fuzzClave(t)
	for _, name := range []string{"seed-0", "seed-1"} {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzClaveVerify", name))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(b), "\n", 3)
		q := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
		raw, err := strconv.Unquote(q)
		if err != nil {
			t.Fatal(err)
		}
		if _, reason, err := c.verify(context.Background(), base64.StdEncoding.EncodeToString([]byte(raw)),
			flow{Provider: ProviderClave, RequestID: "_fuzz-request", LoA: LoASubstantial}); err != nil {
			t.Errorf("%s does not verify (%s): %v", name, reason, err)
		}
	}
}
