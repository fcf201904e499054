package scsp

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// xmlsec1 returns Debian's xmlsec1, an XML-DSig implementation we did not
// write (libxmlsec1 on OpenSSL). make test installs it and requires it.
func xmlsec1(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("xmlsec1")
	if err != nil {
		if os.Getenv("OBERT_REQUIRE_XMLSEC") != "" {
			t.Fatal("xmlsec1 is required (make deps-xmlsec installs it)")
		}
		t.Skip("xmlsec1 not installed; make test installs it")
	}
	return p
}

// TestXmlsec1VerifiesOurSignature: what Obert signs, xmlsec1 verifies with
// the certificate alone; a changed body it refuses.
func TestXmlsec1VerifiesOurSignature(t *testing.T) {
	bin := xmlsec1(t)
	env, s := signed(t)
	dir := t.TempDir()
	cert := filepath.Join(dir, "cert.pem")
	os.WriteFile(cert, CertPEM(s.Cert), 0o600)
	verify := func(doc []byte) (string, error) {
		f := filepath.Join(dir, "env.xml")
		os.WriteFile(f, doc, 0o600)
		out, err := exec.Command(bin, "--verify", "--id-attr:Id", "http://schemas.xmlsoap.org/soap/envelope/:Body",
			"--pubkey-cert-pem", cert, f).CombinedOutput()
		return string(out), err
	}
	if out, err := verify(env); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("xmlsec1 does not verify our envelope: %v\n%s\n%s", err, out, env)
	}
	if out, err := verify(bytes.Replace(env, []byte("12345678Z"), []byte("87654321X"), 1)); err == nil {
		t.Fatalf("xmlsec1 verified a changed body:\n%s", out)
	}
}

// TestWeVerifyXmlsec1Signature: an envelope xmlsec1 signs (from a WS-Security
// template with the BinarySecurityToken) verifies with our code, and the
// payload is what it signed; signed by another key it is refused.
func TestWeVerifyXmlsec1Signature(t *testing.T) {
	bin := xmlsec1(t)
	k, c, err := NewSelfSigned("xmlsec1 signer", now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "key.pem")
	os.WriteFile(key, KeyPEM(k), 0o600)
	tmpl := `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsse="` + NSWsse + `" xmlns:wsu="` + NSWsu + `">
<soapenv:Header><wsse:Security soapenv:mustUnderstand="1">
<wsse:BinarySecurityToken EncodingType="` + b64Enc + `" ValueType="` + x509Tok + `" wsu:Id="X509-1">` + base64.StdEncoding.EncodeToString(c.Raw) + `</wsse:BinarySecurityToken>
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
<ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="` + algExc + `"/>
<ds:SignatureMethod Algorithm="` + algRSA + `"/>
<ds:Reference URI="#Body-1"><ds:Transforms><ds:Transform Algorithm="` + algExc + `"/></ds:Transforms>
<ds:DigestMethod Algorithm="` + algSHA + `"/><ds:DigestValue></ds:DigestValue></ds:Reference>
</ds:SignedInfo>
<ds:SignatureValue></ds:SignatureValue>
<ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#X509-1" ValueType="` + x509Tok + `"/></wsse:SecurityTokenReference></ds:KeyInfo>
</ds:Signature>
</wsse:Security></soapenv:Header>
<soapenv:Body wsu:Id="Body-1"><Respuesta xmlns="http://intermediacion.redsara.es/scsp/esquemas/V3/respuesta"><Atributos><IdPeticion>XMLSEC-1</IdPeticion></Atributos></Respuesta></soapenv:Body>
</soapenv:Envelope>`
	in := filepath.Join(dir, "tmpl.xml")
	out := filepath.Join(dir, "signed.xml")
	os.WriteFile(in, []byte(tmpl), 0o600)
	if b, err := exec.Command(bin, "--sign", "--privkey-pem", key, "--id-attr:Id", "http://schemas.xmlsoap.org/soap/envelope/:Body",
		"--output", out, in).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, b)
	}
	doc, _ := os.ReadFile(out)
	var r Respuesta
	cert, err := VerifyDecode(doc, []*x509.Certificate{c}, &r)
	if err != nil {
		t.Fatalf("our verifier refuses xmlsec1's signature: %v\n%s", err, doc)
	}
	if !cert.Equal(c) || !strings.Contains(r.Atributos.IdPeticion, "XMLSEC-1") {
		t.Fatalf("payload %+v", r.Atributos)
	}
	if el, _, err := Verify(doc, []*x509.Certificate{c}); err != nil || el.Tag != "Respuesta" {
		t.Fatalf("the etree reading: %v", err)
	}
	_, other, _ := NewSelfSigned("someone else", now)
	if _, _, err := VerifyPayload(doc, []*x509.Certificate{other}); err == nil {
		t.Fatal("verified against a certificate that did not sign")
	}
}
