package scsp

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Namespaces of the SOAP envelope and WS-Security header.
const (
	NSSoap  = "http://schemas.xmlsoap.org/soap/envelope/"
	NSWsse  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSWsu   = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	NSDsig  = "http://www.w3.org/2000/09/xmldsig#"
	x509Tok = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
	b64Enc  = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
	algExc  = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algRSA  = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algSHA  = "http://www.w3.org/2001/04/xmlenc#sha256"
)

// MaxMessage bounds every SCSP message read, before parsing.
const MaxMessage = 2 << 20

// ErrSignature is returned for a message that is unsigned, signed by an
// untrusted key, or whose signed content differs from what is processed.
var ErrSignature = errors.New("scsp: signature invalid")

// Signer signs outgoing envelopes with one key and certificate. NewSigner
// makes one that signs through the system's libcrypto where it can.
type Signer struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
	rsa  pkcs1Signer // nil: crypto/rsa
}

// Envelope wraps body (one XML element, serialized) in a SOAP 1.1 envelope
// signed per WS-Security: a BinarySecurityToken with the certificate, a
// Timestamp, and an RSA-SHA256 XML signature over the soap:Body under
// exclusive canonicalisation.
func (s Signer) Envelope(body []byte, now time.Time) ([]byte, error) {
	inner := etree.NewDocument()
	if err := inner.ReadFromBytes(body); err != nil || inner.Root() == nil {
		return nil, fmt.Errorf("scsp: body is not XML: %v", err)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	env := doc.CreateElement("soapenv:Envelope")
	env.CreateAttr("xmlns:soapenv", NSSoap)
	env.CreateAttr("xmlns:wsse", NSWsse)
	env.CreateAttr("xmlns:wsu", NSWsu)
	hdr := env.CreateElement("soapenv:Header")
	sec := hdr.CreateElement("wsse:Security")
	sec.CreateAttr("soapenv:mustUnderstand", "1")
	tok := sec.CreateElement("wsse:BinarySecurityToken")
	tok.CreateAttr("EncodingType", b64Enc)
	tok.CreateAttr("ValueType", x509Tok)
	tok.CreateAttr("wsu:Id", "X509-"+randID())
	tok.SetText(base64.StdEncoding.EncodeToString(s.Cert.Raw))
	ts := sec.CreateElement("wsu:Timestamp")
	ts.CreateAttr("wsu:Id", "TS-"+randID())
	ts.CreateElement("wsu:Created").SetText(now.UTC().Format("2006-01-02T15:04:05.000Z"))
	ts.CreateElement("wsu:Expires").SetText(now.UTC().Add(5 * time.Minute).Format("2006-01-02T15:04:05.000Z"))
	bodyEl := env.CreateElement("soapenv:Body")
	bodyID := "Body-" + randID()
	bodyEl.CreateAttr("wsu:Id", bodyID)
	bodyEl.AddChild(inner.Root()) // moved, not copied: inner is not used again

	digest, err := digestOf(bodyEl)
	if err != nil {
		return nil, err
	}
	sig := sec.CreateElement("ds:Signature")
	sig.CreateAttr("xmlns:ds", NSDsig)
	si := sig.CreateElement("ds:SignedInfo")
	si.CreateElement("ds:CanonicalizationMethod").CreateAttr("Algorithm", algExc)
	si.CreateElement("ds:SignatureMethod").CreateAttr("Algorithm", algRSA)
	ref := si.CreateElement("ds:Reference")
	ref.CreateAttr("URI", "#"+bodyID)
	ref.CreateElement("ds:Transforms").CreateElement("ds:Transform").CreateAttr("Algorithm", algExc)
	ref.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", algSHA)
	ref.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(digest))
	siC14n, err := excC14N(si)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(siC14n)
	sv, err := s.pkcs1().signSHA256(h[:])
	if err != nil {
		return nil, fmt.Errorf("scsp: sign: %w", err)
	}
	sig.CreateElement("ds:SignatureValue").SetText(base64.StdEncoding.EncodeToString(sv))
	str := sig.CreateElement("ds:KeyInfo").CreateElement("wsse:SecurityTokenReference")
	r := str.CreateElement("wsse:Reference")
	r.CreateAttr("URI", "#"+tok.SelectAttrValue("wsu:Id", ""))
	r.CreateAttr("ValueType", x509Tok)
	return doc.WriteToBytes()
}

// Payload is the one element inside a signed envelope's Body, as its
// signature covers it.
type Payload struct {
	Name   xml.Name // its expanded name
	signed []byte   // the Body's canonical form, whose digest was checked
}

// Decode decodes the payload into v (encoding/xml) from the very bytes
// whose digest was checked: what is read is exactly what was signed.
func (p Payload) Decode(v any) error {
	d := xml.NewDecoder(bytes.NewReader(p.signed))
	for depth := 0; ; {
		tok, err := d.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if start, ok := tok.(xml.StartElement); ok {
			if depth++; depth == 2 { // the Body's one element
				if err := d.DecodeElement(v, &start); err != nil {
					return fmt.Errorf("%w: %v", ErrMalformed, err)
				}
				return nil
			}
		}
	}
}

// VerifyDecode checks a signed envelope as VerifyPayload does and decodes
// its payload into v.
func VerifyDecode(raw []byte, trusted []*x509.Certificate, v any) (*x509.Certificate, error) {
	p, cert, err := VerifyPayload(raw, trusted)
	if err != nil {
		return nil, err
	}
	return cert, p.Decode(v)
}

// VerifyPayload checks a signed envelope against the trusted certificates
// and returns the single element inside the soap:Body that the signature
// covers, and the certificate that signed it. Only that element may be
// processed: a signature over anything else (signature wrapping) is
// refused.
//
// The envelope is read with scan. The tests keep the etree reading this
// replaced (Verify in wssec_etree_test.go) and hold the two to the same
// verdicts and the same payloads (parseBothWays, FuzzSCSPParse), except on
// what scan is stricter about.
func VerifyPayload(raw []byte, trusted []*x509.Certificate) (Payload, *x509.Certificate, error) {
	if len(raw) > MaxMessage {
		return Payload{}, nil, fmt.Errorf("%w: message of %d bytes exceeds the limit", ErrMalformed, len(raw))
	}
	if bytes.Contains(raw, []byte("<!DOCTYPE")) || bytes.Contains(raw, []byte("<!ENTITY")) {
		return Payload{}, nil, fmt.Errorf("%w: document type declarations are not accepted", ErrMalformed)
	}
	d, err := scan(raw)
	if err != nil {
		return Payload{}, nil, err
	}
	const env = 0
	if d.nodes[env].local != "Envelope" || d.nsOf(env) != NSSoap {
		return Payload{}, nil, fmt.Errorf("%w: not a SOAP 1.1 envelope", ErrMalformed)
	}
	body := d.onlyChild(env, NSSoap, "Body")
	if body < 0 {
		return Payload{}, nil, fmt.Errorf("%w: envelope must have exactly one Body", ErrMalformed)
	}
	if fault := d.onlyChild(body, NSSoap, "Fault"); fault >= 0 {
		return Payload{}, nil, d.faultError(fault)
	}
	sec := d.onlyChild(d.onlyChild(env, NSSoap, "Header"), NSWsse, "Security")
	if sec < 0 {
		return Payload{}, nil, fmt.Errorf("%w: no Security header", ErrSignature)
	}
	sig := d.onlyChild(sec, NSDsig, "Signature")
	tokEl := d.onlyChild(sec, NSWsse, "BinarySecurityToken")
	if sig < 0 || tokEl < 0 {
		return Payload{}, nil, fmt.Errorf("%w: unsigned message", ErrSignature)
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(d.text(tokEl)))
	if err != nil {
		return Payload{}, nil, fmt.Errorf("%w: bad security token", ErrSignature)
	}
	var cert *x509.Certificate
	for _, c := range trusted {
		if bytes.Equal(c.Raw, der) {
			cert = c
		}
	}
	if cert == nil {
		return Payload{}, nil, fmt.Errorf("%w: signed by an untrusted certificate", ErrSignature)
	}
	si := d.onlyChild(sig, NSDsig, "SignedInfo")
	sv := d.onlyChild(sig, NSDsig, "SignatureValue")
	if si < 0 || sv < 0 {
		return Payload{}, nil, fmt.Errorf("%w: incomplete signature", ErrSignature)
	}
	if m := d.onlyChild(si, NSDsig, "CanonicalizationMethod"); m < 0 || d.attr(m, "", "Algorithm") != algExc {
		return Payload{}, nil, fmt.Errorf("%w: unsupported canonicalisation", ErrSignature)
	}
	if m := d.onlyChild(si, NSDsig, "SignatureMethod"); m < 0 || d.attr(m, "", "Algorithm") != algRSA {
		return Payload{}, nil, fmt.Errorf("%w: unsupported signature method", ErrSignature)
	}
	ref := d.onlyChild(si, NSDsig, "Reference")
	if ref < 0 {
		return Payload{}, nil, fmt.Errorf("%w: want exactly one reference", ErrSignature)
	}
	// The reference must name the one Body of this envelope, by its id.
	bodyID := d.attr(body, NSWsu, "Id")
	if bodyID == "" || d.attr(ref, "", "URI") != "#"+bodyID {
		return Payload{}, nil, fmt.Errorf("%w: the signature does not cover the Body", ErrSignature)
	}
	if n := d.countID(bodyID); n != 1 {
		return Payload{}, nil, fmt.Errorf("%w: id %q appears %d times", ErrSignature, bodyID, n)
	}
	if dm := d.onlyChild(ref, NSDsig, "DigestMethod"); dm < 0 || d.attr(dm, "", "Algorithm") != algSHA {
		return Payload{}, nil, fmt.Errorf("%w: unsupported digest", ErrSignature)
	}
	if trs := d.onlyChild(ref, NSDsig, "Transforms"); trs >= 0 {
		for tr := range d.children(trs) {
			if d.is(tr, NSDsig, "Transform") && d.attr(tr, "", "Algorithm") != algExc {
				return Payload{}, nil, fmt.Errorf("%w: unsupported transform", ErrSignature)
			}
		}
	}
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(d.text(d.onlyChild(ref, NSDsig, "DigestValue"))))
	if err != nil {
		return Payload{}, nil, fmt.Errorf("%w: bad digest value", ErrSignature)
	}
	bodyC14n, err := d.c14n(make([]byte, 0, len(raw)), body)
	if err != nil {
		return Payload{}, nil, err
	}
	if got := sha256.Sum256(bodyC14n); !bytes.Equal(got[:], want) {
		return Payload{}, nil, fmt.Errorf("%w: the Body was modified after signing", ErrSignature)
	}
	siC14n, err := d.c14n(make([]byte, 0, 1024), si)
	if err != nil {
		return Payload{}, nil, err
	}
	sigBytes, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(d.text(sv)), ""))
	if err != nil {
		return Payload{}, nil, fmt.Errorf("%w: bad signature value", ErrSignature)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return Payload{}, nil, fmt.Errorf("%w: certificate key is not RSA", ErrSignature)
	}
	h := sha256.Sum256(siC14n)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sigBytes); err != nil {
		return Payload{}, nil, fmt.Errorf("%w: signature does not verify", ErrSignature)
	}
	payload, n := int32(-1), 0
	for c := range d.children(body) {
		payload, n = c, n+1
	}
	if n != 1 {
		return Payload{}, nil, fmt.Errorf("%w: Body must hold exactly one element", ErrMalformed)
	}
	return Payload{Name: xml.Name{Space: d.nsOf(payload), Local: d.nodes[payload].local}, signed: bodyC14n}, cert, nil
}

func digestOf(el *etree.Element) ([]byte, error) {
	c, err := excC14N(el)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(c)
	return h[:], nil
}

func randID() string { return strings.ToLower(rand.Text()[:20]) }
