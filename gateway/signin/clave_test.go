package signin_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml/xmlenc"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// samlRig is an SP under test and an IdP whose key the test holds, so each
// case can mint exactly the response an attacker (or a broken IdP) would
// send: signed with real RSA keys, then altered.
type samlRig struct {
	svc      *signin.Service
	sp       *httptest.Server
	ev       *events
	keys     *keys.Keys
	idpKey   *rsa.PrivateKey
	idpCert  *x509.Certificate
	idpID    string
	client   *http.Client
	now      time.Time
	acs      string
	entityID string
	encCert  *x509.Certificate // the SP's encryption certificate
}

const idpEntity = "https://pasarela.clave.test/"

func idpMetadata(entity string, cert *x509.Certificate) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + entity + `">
<md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + entity + `slo"/>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + entity + `sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>`
}

func newSAMLRig(t testing.TB, maxResponse int) *samlRig {
	t.Helper()
	key, cert, err := scsp.NewSelfSigned("Cl@ve test IdP", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return newSAMLRigKey(t, maxResponse, key, cert)
}

// newSAMLRigKey is a rig whose IdP signs with key.
func newSAMLRigKey(t testing.TB, maxResponse int, key *rsa.PrivateKey, cert *x509.Certificate) *samlRig {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	r := &samlRig{ev: &events{}, now: now, idpID: idpEntity, idpKey: key, idpCert: cert}
	var err error
	md := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(md, []byte(idpMetadata(idpEntity, r.idpCert)), 0o600); err != nil {
		t.Fatal(err)
	}
	sk, sc, _ := scsp.NewSelfSigned("Obert SP signing", now)
	ek, ec, _ := scsp.NewSelfSigned("Obert SP encryption", now)
	r.encCert = ec
	r.keys, _ = keys.New(bytes.Repeat([]byte{7}, 32))
	mux := http.NewServeMux()
	r.sp = httptest.NewServer(mux)
	t.Cleanup(r.sp.Close)
	r.acs, r.entityID = r.sp.URL+"/signin/clave/acs", r.sp.URL+"/signin/clave/metadata"
	r.svc, err = signin.New(signin.Config{Store: storetest.OpenSQLite(t), Sealer: r.keys, Subject: r.keys.Subject, Events: r.ev,
		PublicURL: r.sp.URL, Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.svc.WithClave(ctx, signin.ClaveConfig{IdPMetadata: md, SigningKey: sk, SigningCert: sc, EncryptionKey: ek,
		EncryptionCert: ec, MaxResponse: maxResponse}); err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /signin/clave", r.svc.ClaveStart)
	mux.HandleFunc("POST /signin/clave/acs", r.svc.ClaveACS)
	mux.HandleFunc("POST /signin/clave/slo", r.svc.ClaveSLO)
	mux.HandleFunc("GET /signin/clave/metadata", r.svc.ClaveMetadata)
	mux.HandleFunc("POST /signout", r.svc.SignOut)
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, req *http.Request) {
		s, ok := r.svc.Current(req)
		if !ok {
			http.Error(w, "anonymous", http.StatusUnauthorized)
			return
		}
		io.WriteString(w, s.Identity.DocNumber+" "+s.Identity.LoA)
	})
	r.newBrowser()
	return r
}

func (r *samlRig) newBrowser() {
	jar, _ := cookiejar.New(nil)
	r.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var samlRequestField = regexp.MustCompile(`name="SAMLRequest" value="([^"]+)"`)

// start begins a sign-in in the rig's browser and returns the AuthnRequest.
func (r *samlRig) start(t testing.TB) *etree.Element {
	t.Helper()
	resp, err := r.client.Get(r.sp.URL + "/signin/clave?return=/whoami")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := samlRequestField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no SAMLRequest on the start page:\n%s", page)
	}
	raw, err := base64.StdEncoding.DecodeString(html.UnescapeString(string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

// post sends a SAMLResponse to the ACS from the rig's browser.
func (r *samlRig) post(t testing.TB, raw []byte) (int, string) {
	t.Helper()
	resp, err := r.client.PostForm(r.acs, url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(raw)}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *samlRig) whoami(t testing.TB) string {
	t.Helper()
	resp, err := r.client.Get(r.sp.URL + "/whoami")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

// mint is what the IdP would answer: the fields a case can change before
// the response is built and signed.
type mint struct {
	inResponseTo, destination, recipient, audience, issuer string
	personID, loa, status                                  string
	assertionID                                            string
	notBefore, notOnOrAfter                                time.Time
	signResponse, signAssertion                            bool
	encrypt                                                bool // the assertion, to encryptTo (the SP's key unless set)
	encryptTo                                              *x509.Certificate
	key                                                    *rsa.PrivateKey // signing key (the IdP's unless set)
	cert                                                   *x509.Certificate
}

func (r *samlRig) valid(req *etree.Element) mint {
	id := req.SelectAttrValue("ID", "")
	return mint{inResponseTo: id, destination: r.acs, recipient: r.acs, audience: r.entityID, issuer: r.idpID,
		personID: "ES/ES/12345678Z", loa: signin.EIDASLoASubstantial, status: "urn:oasis:names:tc:SAML:2.0:status:Success",
		assertionID: "_a" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")),
		notBefore:   r.now.Add(-time.Minute), notOnOrAfter: r.now.Add(5 * time.Minute), signAssertion: true}
}

const (
	samlp = "urn:oasis:names:tc:SAML:2.0:protocol"
	saml  = "urn:oasis:names:tc:SAML:2.0:assertion"
)

// build returns the response document, signed as m says.
func (r *samlRig) build(t testing.TB, m mint) *etree.Document {
	t.Helper()
	ts := func(x time.Time) string { return x.UTC().Format(time.RFC3339) }
	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", samlp)
	resp.CreateAttr("xmlns:saml", saml)
	resp.CreateAttr("ID", "_r"+m.assertionID[2:])
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", ts(r.now))
	if m.destination != "" {
		resp.CreateAttr("Destination", m.destination)
	}
	if m.inResponseTo != "" {
		resp.CreateAttr("InResponseTo", m.inResponseTo)
	}
	resp.CreateElement("saml:Issuer").SetText(m.issuer)
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", m.status)
	a := resp.CreateElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", saml)
	a.CreateAttr("ID", m.assertionID)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", ts(r.now))
	a.CreateElement("saml:Issuer").SetText(m.issuer)
	subj := a.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	nid.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
	nid.SetText(m.personID)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	if m.inResponseTo != "" {
		scd.CreateAttr("InResponseTo", m.inResponseTo)
	}
	scd.CreateAttr("NotOnOrAfter", ts(m.notOnOrAfter))
	scd.CreateAttr("Recipient", m.recipient)
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(m.notBefore))
	cond.CreateAttr("NotOnOrAfter", ts(m.notOnOrAfter))
	if m.audience != "" {
		cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(m.audience)
	}
	as := a.CreateElement("saml:AuthnStatement")
	as.CreateAttr("AuthnInstant", ts(r.now))
	as.CreateAttr("SessionIndex", "_s1")
	as.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(m.loa)
	st := a.CreateElement("saml:AttributeStatement")
	for _, kv := range [][2]string{{signin.EIDASPersonIdentifier, m.personID}, {signin.EIDASGivenName, "Maria"},
		{signin.EIDASFamilyName, "Puig Soler"}, {signin.EIDASDateOfBirth, "1950-03-04"}} {
		at := st.CreateElement("saml:Attribute")
		at.CreateAttr("Name", kv[0])
		at.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:uri")
		at.CreateElement("saml:AttributeValue").SetText(kv[1])
	}
	key, cert := r.idpKey, r.idpCert
	if m.key != nil {
		key, cert = m.key, m.cert
	}
	final := a
	if m.signAssertion {
		final = sign(t, a, key, cert)
		resp.RemoveChild(a)
		resp.AddChild(final)
	}
	if m.encrypt {
		to := r.encCert
		if m.encryptTo != nil {
			to = m.encryptTo
		}
		plain := etree.NewDocument()
		plain.SetRoot(final.Copy())
		buf, err := plain.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		enc := xmlenc.OAEP()
		enc.BlockCipher = xmlenc.AES256GCM
		enc.DigestMethod = &xmlenc.SHA1
		data, err := enc.Encrypt(to, buf, nil)
		if err != nil {
			t.Fatal(err)
		}
		data.CreateAttr("Type", "http://www.w3.org/2001/04/xmlenc#Element")
		ea := etree.NewElement("saml:EncryptedAssertion")
		ea.AddChild(data)
		resp.RemoveChild(final)
		resp.AddChild(ea)
	}
	doc := etree.NewDocument()
	doc.SetRoot(resp)
	if m.signResponse {
		doc.SetRoot(sign(t, resp, key, cert))
	}
	return doc
}

// sign returns el with an enveloped RSA-SHA256 signature placed after its
// Issuer, as SAML wants.
func sign(t testing.TB, el *etree.Element, key *rsa.PrivateKey, cert *x509.Certificate) *etree.Element {
	t.Helper()
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key}))
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		t.Fatal(err)
	}
	sig := signed.Child[len(signed.Child)-1]
	rest := signed.Child[:len(signed.Child)-1]
	signed.Child = append([]etree.Token{rest[0], sig}, rest[1:]...)
	return signed
}

func bytesOf(t testing.TB, doc *etree.Document) []byte {
	t.Helper()
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refused asserts the sign-in was refused with reason: a page, no session,
// and the failure reported (the gateway records it in the audit log).
func (r *samlRig) refused(t *testing.T, code int, body, reason string) {
	t.Helper()
	if code < 400 {
		t.Fatalf("accepted (%d) a response that must be refused with %s: %s", code, reason, body)
	}
	if !strings.Contains(body, reason) {
		t.Errorf("page does not give the reason %s: %s", reason, body)
	}
	if who := r.whoami(t); who != "" {
		t.Fatalf("a session exists after a refused response: %s", who)
	}
	r.ev.mu.Lock()
	defer r.ev.mu.Unlock()
	if len(r.ev.failed) == 0 || r.ev.failed[len(r.ev.failed)-1] != reason {
		t.Errorf("failure reported as %v, want %s", r.ev.failed, reason)
	}
	if len(r.ev.signedIn) != 0 {
		t.Errorf("sign-in reported: %v", r.ev.signedIn)
	}
}

func TestClaveValidResponse(t *testing.T) {
	for _, c := range []struct {
		name         string
		resp, assert bool
		encrypt      bool
	}{{"assertion signed", false, true, false}, {"response signed", true, false, false}, {"both signed", true, true, false},
		{"both signed, assertion encrypted", true, true, true}, {"assertion signed and encrypted", false, true, true}} {
		t.Run(c.name, func(t *testing.T) {
			r := newSAMLRig(t, 0)
			m := r.valid(r.start(t))
			m.signResponse, m.signAssertion, m.encrypt = c.resp, c.assert, c.encrypt
			code, body := r.post(t, bytesOf(t, r.build(t, m)))
			if code != http.StatusSeeOther {
				t.Fatalf("valid response refused: %d %s (%v)", code, body, r.ev.failed)
			}
			if who := r.whoami(t); who != "12345678Z substantial" {
				t.Fatalf("whoami %q", who)
			}
		})
	}
}

// TestClaveAuthnRequest: what we send is signed, asks for the level and the
// eIDAS attributes, and our metadata verifies with our signing certificate.
func TestClaveAuthnRequest(t *testing.T) {
	r := newSAMLRig(t, 0)
	req := r.start(t)
	for _, path := range []string{"./Issuer", "./Signature", "./Extensions/SPType", "./Extensions/RequestedAttributes", "./NameIDPolicy"} {
		if req.FindElement(path) == nil {
			t.Errorf("AuthnRequest lacks %s", path)
		}
	}
	if got := req.FindElement("./RequestedAuthnContext/AuthnContextClassRef").Text(); got != signin.EIDASLoASubstantial {
		t.Errorf("requested %s", got)
	}
	if req.SelectAttrValue("Destination", "") != idpEntity+"sso" || req.SelectAttrValue("AssertionConsumerServiceURL", "") != r.acs {
		t.Errorf("Destination or ACS wrong: %s", req.SelectAttrValue("Destination", ""))
	}
	// A page may ask for more than the minimum, never for less.
	r.newBrowser()
	resp, _ := r.client.Get(r.sp.URL + "/signin/clave?loa=low")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(string(samlRequestField.FindSubmatch(page)[1])))
	if !bytes.Contains(raw, []byte(signin.EIDASLoASubstantial)) {
		t.Errorf("loa=low lowered the request:\n%s", raw)
	}
}

func TestClaveMetadataIsSigned(t *testing.T) {
	r := newSAMLRig(t, 0)
	resp, err := http.Get(r.entityID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	certEl := doc.FindElement("//KeyDescriptor[@use='signing']//X509Certificate")
	der, _ := base64.StdEncoding.DecodeString(certEl.Text())
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	if _, err := vc.Validate(doc.Root()); err != nil {
		t.Fatalf("our metadata does not verify: %v", err)
	}
	// And a change to it breaks the signature.
	doc.Root().FindElement("//AssertionConsumerService").CreateAttr("Location", "https://evil.test/acs")
	if _, err := vc.Validate(doc.Root()); err == nil {
		t.Fatal("altered metadata still verifies")
	}
}

// TestClaveMetadataValidForAWeek: the metadata we serve stays valid for a
// week from now, so a federation that caches it does not drop us at once.
func TestClaveMetadataValidForAWeek(t *testing.T) {
	r := newSAMLRig(t, 0)
	resp, err := http.Get(r.entityID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	until, err := time.Parse(time.RFC3339, doc.Root().SelectAttrValue("validUntil", ""))
	if err != nil {
		t.Fatalf("validUntil: %v", err)
	}
	if want := r.now.Add(7 * 24 * time.Hour); until.Before(want.Add(-time.Minute)) || until.After(want.Add(time.Minute)) {
		t.Fatalf("metadata valid until %s, want about %s", until, want)
	}
}

// TestClaveAttackCorpus: every case must be refused with a page naming the
// reason, no session, and the failure reported for the audit log.
func TestClaveAttackCorpus(t *testing.T) {
	otherKey, otherCert, _ := scsp.NewSelfSigned("Not the IdP", time.Now())
	cases := []struct {
		name   string
		reason string
		alter  func(r *samlRig, m *mint)           // before signing
		after  func(r *samlRig, d *etree.Document) // after signing
	}{
		{"unsigned response and assertion", "unsigned", func(_ *samlRig, m *mint) { m.signAssertion = false }, nil},
		{"signed by an unknown key", "bad-signature", func(_ *samlRig, m *mint) { m.key, m.cert = otherKey, otherCert }, nil},
		{"assertion from another IdP", "wrong-issuer", func(_ *samlRig, m *mint) { m.issuer = "https://idp.elsewhere.test/" }, nil},
		{"another IdP with its own key", "bad-signature", func(_ *samlRig, m *mint) {
			m.issuer, m.key, m.cert = "https://idp.elsewhere.test/", otherKey, otherCert
		}, nil},
		{"expired", "expired", func(r *samlRig, m *mint) {
			m.notBefore, m.notOnOrAfter = r.now.Add(-20*time.Minute), r.now.Add(-10*time.Minute)
		}, nil},
		{"not yet valid", "not-yet-valid", func(r *samlRig, m *mint) {
			m.notBefore, m.notOnOrAfter = r.now.Add(10*time.Minute), r.now.Add(20*time.Minute)
		}, nil},
		{"wrong audience", "wrong-audience", func(_ *samlRig, m *mint) { m.audience = "https://other-sp.test/metadata" }, nil},
		{"no audience restriction", "wrong-audience", func(_ *samlRig, m *mint) { m.audience = "" }, nil},
		{"wrong destination", "wrong-destination", func(_ *samlRig, m *mint) { m.destination = "https://other-sp.test/acs" }, nil},
		{"no destination", "wrong-destination", func(_ *samlRig, m *mint) { m.destination = "" }, nil},
		{"wrong recipient", "wrong-recipient", func(_ *samlRig, m *mint) { m.recipient = "https://other-sp.test/acs" }, nil},
		{"unsolicited (no InResponseTo)", "unsolicited-response", func(_ *samlRig, m *mint) { m.inResponseTo = "" }, nil},
		{"answer to another request", "unsolicited-response", func(_ *samlRig, m *mint) { m.inResponseTo = "_someone-elses-request" }, nil},
		{"level of assurance too low", "loa-too-low", func(_ *samlRig, m *mint) { m.loa = signin.EIDASLoALow }, nil},
		{"unknown level of assurance", "loa-too-low", func(_ *samlRig, m *mint) { m.loa = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password" }, nil},
		{"IdP said no", "provider-refused", func(_ *samlRig, m *mint) {
			m.status = "urn:oasis:names:tc:SAML:2.0:status:Responder"
		}, func(_ *samlRig, d *etree.Document) { d.Root().RemoveChild(d.Root().FindElement("./Assertion")) }},
		{"assertion encrypted to another key", "invalid-response", func(_ *samlRig, m *mint) {
			m.encrypt, m.encryptTo = true, otherCert
		}, nil},
		{"comment injected in the person identifier", "malformed-response", nil, func(_ *samlRig, d *etree.Document) {
			for _, v := range d.FindElements("//AttributeValue") {
				if v.Text() == "ES/ES/12345678Z" {
					v.SetText("ES/ES/87654321")
					v.AddChild(etree.NewComment("x"))
					v.AddChild(etree.NewText("X"))
				}
			}
		}},
		{"assertion altered after signing", "bad-signature", nil, func(_ *samlRig, d *etree.Document) {
			for _, v := range d.FindElements("//AttributeValue") {
				if v.Text() == "ES/ES/12345678Z" {
					v.SetText("ES/ES/00000000T")
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newSAMLRig(t, 0)
			m := r.valid(r.start(t))
			if c.alter != nil {
				c.alter(r, &m)
			}
			d := r.build(t, m)
			if c.after != nil {
				c.after(r, d)
			}
			code, body := r.post(t, bytesOf(t, d))
			r.refused(t, code, body, c.reason)
		})
	}
}

// The eight XML signature wrapping attacks of "On Breaking SAML: Be Whoever
// You Want to Be" (Somorovsky et al., 2012), as SAML Raider builds them: the
// signed element stays where the signature reference finds it, and an evil
// copy naming another person (00000000T) is where a naive SP would read.
func TestClaveSignatureWrapping(t *testing.T) {
	const victim = "ES/ES/00000000T"
	evilCopy := func(el *etree.Element, newID bool) *etree.Element {
		e := el.Copy()
		if newID {
			e.CreateAttr("ID", "_evil"+e.SelectAttrValue("ID", ""))
		}
		for _, v := range e.FindElements(".//AttributeValue") {
			if strings.HasPrefix(v.Text(), "ES/ES/") {
				v.SetText(victim)
			}
		}
		if n := e.FindElement(".//NameID"); n != nil {
			n.SetText(victim)
		}
		return e
	}
	removeSig := func(el *etree.Element) *etree.Element {
		if s := el.FindElement("./Signature"); s != nil {
			el.RemoveChild(s)
			return s
		}
		return nil
	}
	xsw := []struct {
		name          string
		signResponse  bool
		signAssertion bool
		wrap          func(d *etree.Document)
	}{
		{"XSW1 original response inside the signature of an evil response", true, false, func(d *etree.Document) {
			orig := d.Root()
			evil := evilCopy(orig, true)
			sig := evil.FindElement("./Signature")
			sig.AddChild(orig.Copy())
			d.SetRoot(evil)
		}},
		{"XSW2 original response as a sibling before the signature", true, false, func(d *etree.Document) {
			orig := d.Root()
			evil := evilCopy(orig, true)
			sig := evil.FindElement("./Signature")
			evil.InsertChildAt(sig.Index(), orig.Copy())
			d.SetRoot(evil)
		}},
		{"XSW3 evil assertion before the signed one", false, true, func(d *etree.Document) {
			orig := d.Root().FindElement("./Assertion")
			evil := evilCopy(orig, true)
			removeSig(evil)
			d.Root().InsertChildAt(orig.Index(), evil)
		}},
		{"XSW4 signed assertion inside the evil one", false, true, func(d *etree.Document) {
			orig := d.Root().FindElement("./Assertion")
			evil := evilCopy(orig, true)
			removeSig(evil)
			evil.AddChild(orig.Copy())
			d.Root().InsertChildAt(orig.Index(), evil)
			d.Root().RemoveChild(orig)
		}},
		{"XSW5 evil assertion carries the signature, original appended", false, true, func(d *etree.Document) {
			orig := d.Root().FindElement("./Assertion")
			evil := evilCopy(orig, false) // same ID, signature copied along
			plain := orig.Copy()
			removeSig(plain)
			d.Root().InsertChildAt(orig.Index(), evil)
			d.Root().RemoveChild(orig)
			d.Root().AddChild(plain)
		}},
		{"XSW6 original assertion inside the evil assertion's signature", false, true, func(d *etree.Document) {
			orig := d.Root().FindElement("./Assertion")
			evil := evilCopy(orig, false)
			plain := orig.Copy()
			removeSig(plain)
			evil.FindElement("./Signature").AddChild(plain)
			d.Root().InsertChildAt(orig.Index(), evil)
			d.Root().RemoveChild(orig)
		}},
		{"XSW7 original assertion in Extensions, evil assertion in its place", false, true, func(d *etree.Document) {
			orig := d.Root().FindElement("./Assertion")
			evil := evilCopy(orig, false)
			removeSig(evil)
			ext := etree.NewElement("samlp:Extensions")
			ext.AddChild(orig.Copy())
			d.Root().InsertChildAt(1, ext)
			d.Root().InsertChildAt(orig.Index(), evil)
			d.Root().RemoveChild(orig)
		}},
		{"XSW8 original assertion in an Object inside the evil one's signature", false, true, func(d *etree.Document) {
			orig := d.Root().FindElement("./Assertion")
			evil := evilCopy(orig, false)
			plain := orig.Copy()
			removeSig(plain)
			obj := etree.NewElement("ds:Object")
			obj.AddChild(plain)
			evil.FindElement("./Signature").AddChild(obj)
			d.Root().InsertChildAt(orig.Index(), evil)
			d.Root().RemoveChild(orig)
		}},
	}
	for _, c := range xsw {
		t.Run(c.name, func(t *testing.T) {
			r := newSAMLRig(t, 0)
			m := r.valid(r.start(t))
			m.signResponse, m.signAssertion = c.signResponse, c.signAssertion
			d := r.build(t, m)
			c.wrap(d)
			code, body := r.post(t, bytesOf(t, d))
			if code < 400 {
				t.Fatalf("wrapped response accepted as %q", r.whoami(t))
			}
			if who := r.whoami(t); who != "" {
				t.Fatalf("session after a wrapping attack: %s", who)
			}
			r.ev.mu.Lock()
			defer r.ev.mu.Unlock()
			t.Logf("refused: %v", r.ev.failed)
			if len(r.ev.failed) != 1 || len(r.ev.signedIn) != 0 {
				t.Fatalf("failure not reported: failed %v, signed in %v; page %s", r.ev.failed, r.ev.signedIn, body)
			}
		})
	}
}

// TestClaveReplayAndXML: replays, XML entities and oversized responses.
func TestClaveReplayAndXML(t *testing.T) {
	t.Run("the same POST twice", func(t *testing.T) {
		r := newSAMLRig(t, 0)
		raw := bytesOf(t, r.build(t, r.valid(r.start(t))))
		if code, body := r.post(t, raw); code != http.StatusSeeOther {
			t.Fatalf("first post: %d %s", code, body)
		}
		r.newBrowser()
		code, body := r.post(t, raw)
		r.ev.signedIn = nil
		r.refused(t, code, body, "unsolicited-response")
	})
	t.Run("an assertion id used before, in a new flow", func(t *testing.T) {
		r := newSAMLRig(t, 0)
		m := r.valid(r.start(t))
		if code, body := r.post(t, bytesOf(t, r.build(t, m))); code != http.StatusSeeOther {
			t.Fatalf("first post: %d %s", code, body)
		}
		r.newBrowser()
		m2 := r.valid(r.start(t))
		m2.assertionID = m.assertionID
		code, body := r.post(t, bytesOf(t, r.build(t, m2)))
		r.ev.signedIn = nil
		r.refused(t, code, body, "replayed-assertion")
	})
	t.Run("within the allowed clock skew", func(t *testing.T) {
		r := newSAMLRig(t, 0)
		m := r.valid(r.start(t))
		m.notBefore = r.now.Add(60 * time.Second)
		if code, body := r.post(t, bytesOf(t, r.build(t, m))); code != http.StatusSeeOther {
			t.Fatalf("a response 60 s ahead was refused: %d %s", code, body)
		}
	})
	entity := func(decl, use string) func(r *samlRig, raw []byte) []byte {
		return func(_ *samlRig, raw []byte) []byte {
			s := strings.Replace(string(raw), "<samlp:Response", decl+"<samlp:Response", 1)
			return []byte(strings.Replace(s, ">Maria<", ">"+use+"<", 1))
		}
	}
	for _, c := range []struct {
		name, reason string
		alter        func(r *samlRig, raw []byte) []byte
	}{
		{"XXE external entity", "malformed-response", entity(`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>`, "&x;")},
		{"entity expansion", "malformed-response", entity(`<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>`, "&c;")},
		{"processing instruction", "malformed-response", func(_ *samlRig, raw []byte) []byte {
			return []byte(strings.Replace(string(raw), "<samlp:Status", "<?evil x?><samlp:Status", 1))
		}},
		{"not XML", "malformed-response", func(_ *samlRig, _ []byte) []byte { return []byte("<samlp:Response") }},
		{"oversized response", "response-too-large", func(_ *samlRig, raw []byte) []byte {
			pad := "<saml:Attribute Name=\"pad\"><saml:AttributeValue>" + strings.Repeat("x", 40<<10) + "</saml:AttributeValue></saml:Attribute>"
			return []byte(strings.Replace(string(raw), "</saml:AttributeStatement>", pad+"</saml:AttributeStatement>", 1))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newSAMLRig(t, 32<<10)
			raw := c.alter(r, bytesOf(t, r.build(t, r.valid(r.start(t)))))
			code, body := r.post(t, raw)
			r.refused(t, code, body, c.reason)
			if c.reason == "response-too-large" && code != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", code)
			}
		})
	}
	t.Run("no flow cookie", func(t *testing.T) {
		r := newSAMLRig(t, 0)
		raw := bytesOf(t, r.build(t, r.valid(r.start(t))))
		r.newBrowser() // the attacker's browser, which never started a sign-in
		code, body := r.post(t, raw)
		r.refused(t, code, body, "unsolicited-response")
	})
}

// TestClaveClockSkewAtTheStart: the IdP's clock may run up to the allowed
// skew (90 s) ahead of ours, so a signing certificate or an assertion that
// became valid within the skew is accepted, one that becomes valid beyond it
// refused.
func TestClaveClockSkewAtTheStart(t *testing.T) {
	for _, c := range []struct {
		name                string
		certFrom, assertion time.Duration // from our now
		reason              string        // empty: accepted
	}{
		{"certificate issued 30 s ago", -30 * time.Second, -time.Minute, ""},
		{"certificate valid in 60 s", 60 * time.Second, -time.Minute, ""},
		{"certificate valid in 120 s", 120 * time.Second, -time.Minute, "bad-signature"},
		{"assertion valid in 80 s", -time.Hour, 80 * time.Second, ""},
		{"assertion valid in 100 s", -time.Hour, 100 * time.Second, "not-yet-valid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := time.Now().Truncate(time.Second) // certificates count whole seconds
			key, cert, err := scsp.NewSelfSigned("Cl@ve test IdP", now.Add(c.certFrom+time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if !cert.NotBefore.Equal(now.Add(c.certFrom)) {
				t.Fatalf("certificate valid from %s, want %s", cert.NotBefore, now.Add(c.certFrom))
			}
			r := newSAMLRigKey(t, 0, key, cert)
			r.now = now
			m := r.valid(r.start(t))
			m.notBefore = now.Add(c.assertion)
			code, body := r.post(t, bytesOf(t, r.build(t, m)))
			if c.reason != "" {
				r.refused(t, code, body, c.reason)
				return
			}
			if code != http.StatusSeeOther {
				t.Fatalf("refused: %d %s (%v)", code, body, r.ev.failed)
			}
			if who := r.whoami(t); who != "12345678Z substantial" {
				t.Fatalf("whoami %q", who)
			}
		})
	}
}

// BenchmarkClaveACS: the ACS handling one valid Cl@ve response as Cl@ve
// sends it (response and assertion signed, assertion encrypted to us): XML
// checks, signatures, decryption, our checks, the one-time id and the new
// session in SQLite. Preparing the flow and minting the response are not
// timed.
func BenchmarkClaveACS(b *testing.B) {
	r := newSAMLRig(b, 0)
	prepare := func() *http.Request {
		rec := httptest.NewRecorder()
		r.svc.ClaveStart(rec, httptest.NewRequest(http.MethodGet, r.sp.URL+"/signin/clave", nil))
		m := samlRequestField.FindStringSubmatch(rec.Body.String())
		raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
		doc := etree.NewDocument()
		doc.ReadFromBytes(raw)
		mm := r.valid(doc.Root())
		mm.signResponse, mm.encrypt = true, true
		body := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(bytesOf(b, r.build(b, mm)))}}.Encode()
		req := httptest.NewRequest(http.MethodPost, r.acs, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range rec.Result().Cookies() {
			req.AddCookie(c)
		}
		return req
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		req := prepare()
		b.StartTimer()
		rec := httptest.NewRecorder()
		r.svc.ClaveACS(rec, req)
		if rec.Code != http.StatusSeeOther {
			b.Fatalf("ACS: %d %s (%v)", rec.Code, rec.Body, r.ev.failed)
		}
	}
}

// logoutRequest is an IdP-initiated LogoutRequest for nameID, signed with
// key (unsigned when key is nil).
func (r *samlRig) logoutRequest(t testing.TB, id, nameID string, key *rsa.PrivateKey, cert *x509.Certificate) []byte {
	t.Helper()
	lr := etree.NewElement("samlp:LogoutRequest")
	lr.CreateAttr("xmlns:samlp", samlp)
	lr.CreateAttr("xmlns:saml", saml)
	lr.CreateAttr("ID", id)
	lr.CreateAttr("Version", "2.0")
	lr.CreateAttr("IssueInstant", r.now.UTC().Format(time.RFC3339))
	lr.CreateAttr("Destination", r.sp.URL+"/signin/clave/slo")
	lr.CreateElement("saml:Issuer").SetText(r.idpID)
	lr.CreateElement("saml:NameID").SetText(nameID)
	if key != nil {
		lr = sign(t, lr, key, cert)
	}
	d := etree.NewDocument()
	d.SetRoot(lr)
	return bytesOf(t, d)
}

// TestClaveIdPInitiatedLogout: a signed LogoutRequest from the IdP ends
// the person's sessions and is answered with a signed LogoutResponse; an
// unsigned or foreign-signed one, or a replay, changes nothing.
func TestClaveIdPInitiatedLogout(t *testing.T) {
	r := newSAMLRig(t, 0)
	signIn := func() {
		if code, body := r.post(t, bytesOf(t, r.build(t, r.valid(r.start(t))))); code != http.StatusSeeOther {
			t.Fatalf("sign-in: %d %s", code, body)
		}
	}
	signIn()
	slo := func(raw []byte) (int, string) {
		// The IdP's page posts it: no session cookie travels cross-site.
		resp, err := http.PostForm(r.sp.URL+"/signin/clave/slo", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(raw)}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	otherKey, otherCert, _ := scsp.NewSelfSigned("not the IdP", time.Now())
	for _, bad := range [][]byte{
		r.logoutRequest(t, "_lr-unsigned", "ES/ES/12345678Z", nil, nil),
		r.logoutRequest(t, "_lr-foreign", "ES/ES/12345678Z", otherKey, otherCert),
	} {
		if code, _ := slo(bad); code != http.StatusBadRequest {
			t.Fatalf("bad LogoutRequest answered %d", code)
		}
		if r.whoami(t) == "" {
			t.Fatal("a bad LogoutRequest ended the session")
		}
	}
	good := r.logoutRequest(t, "_lr-1", "ES/ES/12345678Z", r.idpKey, r.idpCert)
	code, body := slo(good)
	if code != http.StatusOK || !strings.Contains(body, `name="SAMLResponse"`) || !strings.Contains(body, idpEntity+"slo") {
		t.Fatalf("LogoutRequest: %d %s", code, body)
	}
	m := regexp.MustCompile(`name="SAMLResponse" value="([^"]+)"`).FindStringSubmatch(body)
	resp, _ := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	if !bytes.Contains(resp, []byte(`InResponseTo="_lr-1"`)) || !bytes.Contains(resp, []byte("status:Success")) || !bytes.Contains(resp, []byte("SignatureValue")) {
		t.Errorf("LogoutResponse:\n%s", resp)
	}
	if who := r.whoami(t); who != "" {
		t.Fatalf("session survived the IdP's logout: %s", who)
	}
	signIn()
	if code, _ := slo(good); code != http.StatusBadRequest || r.whoami(t) == "" {
		t.Fatalf("a replayed LogoutRequest was obeyed: %d", code)
	}
}

// TestClaveSignedOutPage: the page that carries our LogoutRequest, or our
// LogoutResponse to the IdP's, comes after the session has ended, and says
// so; the embedding app's own sign-out page replaces it, never the sign-in
// one.
func TestClaveSignedOutPage(t *testing.T) {
	r := newSAMLRig(t, 0)
	signIn := func() {
		t.Helper()
		if code, body := r.post(t, bytesOf(t, r.build(t, r.valid(r.start(t))))); code != http.StatusSeeOther {
			t.Fatalf("sign-in: %d %s", code, body)
		}
	}
	signIn()
	resp, err := r.client.PostForm(r.sp.URL+"/signout", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"Heu tancat la sessió", "Ha cerrado la sesión", "You have signed out", `name="SAMLRequest"`,
		`action="` + idpEntity + `slo"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the sign-out page lacks %q:\n%s", want, page)
		}
	}
	if who := r.whoami(t); who != "" {
		t.Fatalf("signed in after sign-out: %s", who)
	}

	var pages []string
	page2 := func(name string) func(http.ResponseWriter, *http.Request, string, [][2]string) {
		return func(w http.ResponseWriter, _ *http.Request, action string, fields [][2]string) {
			pages = append(pages, name+" "+action+" "+fields[0][0])
			io.WriteString(w, `<input type="hidden" name="`+fields[0][0]+`" value="`+html.EscapeString(fields[0][1])+`">`)
		}
	}
	r.svc.SetPages(func(w http.ResponseWriter, _ *http.Request, status int, reason string) { http.Error(w, reason, status) },
		page2("sign-in"))
	r.svc.SetSignedOutPage(page2("signed-out"))
	signIn()
	resp, err = r.client.PostForm(r.sp.URL+"/signout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	signIn()
	resp, err = http.PostForm(r.sp.URL+"/signin/clave/slo", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(
		r.logoutRequest(t, "_lr-page", "ES/ES/12345678Z", r.idpKey, r.idpCert))}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := []string{"sign-in " + idpEntity + "sso SAMLRequest", "signed-out " + idpEntity + "slo SAMLRequest",
		"sign-in " + idpEntity + "sso SAMLRequest", "signed-out " + idpEntity + "slo SAMLResponse"}
	if strings.Join(pages, "\n") != strings.Join(want, "\n") {
		t.Fatalf("pages shown:\n%s\nwant:\n%s", strings.Join(pages, "\n"), strings.Join(want, "\n"))
	}
}

// TestCookiesInProduction: over https the cookies are __Host- prefixed,
// Secure and HttpOnly; the session is SameSite=Lax; the Cl@ve flow cookie is
// SameSite=None, because the IdP's answer is a cross-site POST.
func TestCookiesInProduction(t *testing.T) {
	k, _ := keys.New(bytes.Repeat([]byte{8}, 32))
	now := time.Now()
	md := filepath.Join(t.TempDir(), "idp.xml")
	_, idpCert, _ := scsp.NewSelfSigned("idp", now)
	os.WriteFile(md, []byte(idpMetadata(idpEntity, idpCert)), 0o600)
	svc, err := signin.New(signin.Config{Store: storetest.OpenSQLite(t), Sealer: k, Subject: k.Subject, Events: &events{},
		PublicURL: "https://obert.example", SecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	sk, sc, _ := scsp.NewSelfSigned("sp", now)
	if err := svc.WithClave(context.Background(), signin.ClaveConfig{IdPMetadata: md, SigningKey: sk, SigningCert: sc,
		EncryptionKey: sk, EncryptionCert: sc}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	svc.ClaveStart(rec, httptest.NewRequest(http.MethodGet, "https://obert.example/signin/clave", nil))
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if c.Name != "__Host-obert_signin" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteNoneMode {
		t.Fatalf("flow cookie %+v", c)
	}
}

// TestClaveMetadataRefresh: the IdP's metadata is read again after the
// refresh period, so a rotated IdP key is trusted without a restart; until
// then, and whenever reading fails, the last good metadata stays.
func TestClaveMetadataRefresh(t *testing.T) {
	k, _ := keys.New(bytes.Repeat([]byte{6}, 32))
	now := time.Now()
	oldKey, oldCert, _ := scsp.NewSelfSigned("idp-2026", now)
	newKey, newCert, _ := scsp.NewSelfSigned("idp-2027", now)
	md := filepath.Join(t.TempDir(), "idp.xml")
	os.WriteFile(md, []byte(idpMetadata(idpEntity, oldCert)), 0o600)

	r := &samlRig{ev: &events{}, now: now, idpID: idpEntity, idpKey: oldKey, idpCert: oldCert, keys: k}
	mux := http.NewServeMux()
	r.sp = httptest.NewServer(mux)
	t.Cleanup(r.sp.Close)
	r.acs, r.entityID = r.sp.URL+"/signin/clave/acs", r.sp.URL+"/signin/clave/metadata"
	svc, err := signin.New(signin.Config{Store: storetest.OpenSQLite(t), Sealer: k, Subject: k.Subject, Events: r.ev,
		PublicURL: r.sp.URL, Now: func() time.Time { return r.now }})
	if err != nil {
		t.Fatal(err)
	}
	sk, sc, _ := scsp.NewSelfSigned("sp", now)
	ek, ec, _ := scsp.NewSelfSigned("sp-enc", now)
	r.encCert = ec
	if err := svc.WithClave(context.Background(), signin.ClaveConfig{IdPMetadata: md, SigningKey: sk, SigningCert: sc,
		EncryptionKey: ek, EncryptionCert: ec, Refresh: time.Hour}); err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	mux.HandleFunc("GET /signin/clave", svc.ClaveStart)
	mux.HandleFunc("POST /signin/clave/acs", svc.ClaveACS)
	try := func() int {
		r.newBrowser()
		code, _ := r.post(t, bytesOf(t, r.build(t, r.valid(r.start(t)))))
		return code
	}
	if try() != http.StatusSeeOther {
		t.Fatal("the old key is not trusted")
	}
	// The IdP rotates its key and publishes new metadata.
	os.WriteFile(md, []byte(idpMetadata(idpEntity, newCert)), 0o600)
	r.idpKey, r.idpCert = newKey, newCert
	if try() == http.StatusSeeOther {
		t.Fatal("metadata was read again before the refresh period")
	}
	r.now = r.now.Add(61 * time.Minute)
	if code := try(); code != http.StatusSeeOther {
		t.Fatalf("the rotated key is not trusted after the refresh: %d (%v)", code, r.ev.failed)
	}
	// Unreadable metadata later keeps the last good one.
	os.WriteFile(md, []byte("not xml"), 0o600)
	r.now = r.now.Add(61 * time.Minute)
	if code := try(); code != http.StatusSeeOther {
		t.Fatalf("a failed refresh dropped the good metadata: %d", code)
	}
}
