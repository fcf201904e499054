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
	return s.envelope(body, now, "X509-"+randID(), "TS-"+randID(), "Body-"+randID())
}

// envelope writes the envelope from templates, with the ids given: the
// body is read with scan and written in its canonical form, so the Body
// that goes out is the very bytes that were digested, and SignedInfo is
// written in its canonical form, the very bytes that were signed. The
// tests keep the envelope built as an etree tree that this replaced
// (treeEnvelope) and hold the two to the same digests and signatures.
func (s Signer) envelope(body []byte, now time.Time, tokID, tsID, bodyID string) ([]byte, error) {
	canon, err := canonicalBody(body, bodyID)
	if err != nil {
		return nil, err
	}
	return s.envelopeCanonical(canon, now, tokID, tsID, bodyID)
}

// envelopePeticion is Envelope for p as encoding/xml writes it, its Body
// written in canonical form from p's fields (canonicalPeticion).
func (s Signer) envelopePeticion(p *Peticion, now time.Time) ([]byte, error) {
	bodyID := "Body-" + randID()
	canon, err := canonicalPeticion(p, bodyID)
	if err != nil {
		return nil, err
	}
	return s.envelopeCanonical(canon, now, "X509-"+randID(), "TS-"+randID(), bodyID)
}

// envelopeCanonical is envelope for a Body already in canonical form,
// canon, with the id bodyID.
func (s Signer) envelopeCanonical(canon []byte, now time.Time, tokID, tsID, bodyID string) ([]byte, error) {
	digest := sha256.Sum256(canon)
	si := make([]byte, 0, 1024)
	si = append(si, `<ds:SignedInfo xmlns:ds="`+NSDsig+`">`+
		`<ds:CanonicalizationMethod Algorithm="`+algExc+`"></ds:CanonicalizationMethod>`+
		`<ds:SignatureMethod Algorithm="`+algRSA+`"></ds:SignatureMethod>`+
		`<ds:Reference URI="#`...)
	si = append(si, bodyID...)
	si = append(si, `"><ds:Transforms><ds:Transform Algorithm="`+algExc+`"></ds:Transform></ds:Transforms>`+
		`<ds:DigestMethod Algorithm="`+algSHA+`"></ds:DigestMethod><ds:DigestValue>`...)
	si = base64.StdEncoding.AppendEncode(si, digest[:])
	si = append(si, `</ds:DigestValue></ds:Reference></ds:SignedInfo>`...)
	h := sha256.Sum256(si)
	sv, err := s.pkcs1().signSHA256(h[:])
	if err != nil {
		return nil, fmt.Errorf("scsp: sign: %w", err)
	}
	inner := canon[len(bodyStart)+len(bodyID)+len(`">`) : len(canon)-len(bodyEnd)]
	out := make([]byte, 0, 2048+len(s.Cert.Raw)*4/3+len(inner))
	out = append(out, `<?xml version="1.0" encoding="UTF-8"?>`+
		`<soapenv:Envelope xmlns:soapenv="`+NSSoap+`" xmlns:wsse="`+NSWsse+`" xmlns:wsu="`+NSWsu+`">`+
		`<soapenv:Header><wsse:Security soapenv:mustUnderstand="1">`+
		`<wsse:BinarySecurityToken EncodingType="`+b64Enc+`" ValueType="`+x509Tok+`" wsu:Id="`...)
	out = append(out, tokID...)
	out = append(out, `">`...)
	out = base64.StdEncoding.AppendEncode(out, s.Cert.Raw)
	out = append(out, `</wsse:BinarySecurityToken><wsu:Timestamp wsu:Id="`...)
	out = append(out, tsID...)
	out = append(out, `"><wsu:Created>`...)
	out = now.UTC().AppendFormat(out, "2006-01-02T15:04:05.000Z")
	out = append(out, `</wsu:Created><wsu:Expires>`...)
	out = now.UTC().Add(5*time.Minute).AppendFormat(out, "2006-01-02T15:04:05.000Z")
	out = append(out, `</wsu:Expires></wsu:Timestamp><ds:Signature xmlns:ds="`+NSDsig+`">`...)
	out = append(out, si...)
	out = append(out, `<ds:SignatureValue>`...)
	out = base64.StdEncoding.AppendEncode(out, sv)
	out = append(out, `</ds:SignatureValue><ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#`...)
	out = append(out, tokID...)
	out = append(out, `" ValueType="`+x509Tok+`"/></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature>`+
		`</wsse:Security></soapenv:Header><soapenv:Body wsu:Id="`...)
	out = append(out, bodyID...)
	out = append(out, `">`...)
	out = append(out, inner...)
	out = append(out, bodyEnd+`</soapenv:Envelope>`...)
	return out, nil
}

// The Body's start tag in canonical form, up to its id, and its end tag.
const (
	bodyStart = `<soapenv:Body xmlns:soapenv="` + NSSoap + `" xmlns:wsu="` + NSWsu + `" wsu:Id="`
	bodyEnd   = `</soapenv:Body>`
)

// canonicalBody is the canonical form of an envelope's Body with id bodyID
// holding body, one element, in the envelope's namespaces.
func canonicalBody(body []byte, bodyID string) ([]byte, error) {
	d, err := scan(body)
	if err != nil {
		return nil, fmt.Errorf("scsp: body is not XML: %w", err)
	}
	c := c14n{d: d, out: make([]byte, 0, len(body)+256), left: maxC14NElements,
		scope:    []binding{{"soapenv", NSSoap}, {"wsse", NSWsse}, {"wsu", NSWsu}},
		rendered: []binding{{"soapenv", NSSoap}, {"wsu", NSWsu}}}
	c.out = append(c.out, bodyStart...)
	c.out = append(c.out, bodyID...)
	c.out = append(c.out, `">`...)
	if err := c.element(0); err != nil {
		return nil, err
	}
	return append(c.out, bodyEnd...), nil
}

// Payload is the one element inside a signed envelope's Body, as its
// signature covers it.
type Payload struct {
	Name   xml.Name // its expanded name
	signed []byte   // the Body's canonical form, whose digest was checked
}

// Decode decodes the payload into v (as encoding/xml would) from the very
// bytes whose digest was checked: what is read is exactly what was signed.
// The message types are decoded from the nodes scan reads of those bytes
// (decode.go); any other type through encoding/xml.
func (p Payload) Decode(v any) error {
	d, err := scan(p.signed)
	if err != nil {
		return err
	}
	payload := int32(-1) // the Body's one element, as VerifyPayload found it
	for c := range d.children(0) {
		payload = c
		break
	}
	if payload < 0 {
		return fmt.Errorf("%w: Body must hold exactly one element", ErrMalformed)
	}
	switch err := d.decodeInto(payload, v); {
	case err == nil:
		return nil
	case !errors.Is(err, errNoPlan):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return decodeXML(p.signed, v)
}

// decodeXML decodes the one element of the Body whose canonical form is
// signed into v through encoding/xml.
func decodeXML(signed []byte, v any) error {
	dec := xml.NewDecoder(bytes.NewReader(signed))
	for depth := 0; ; {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if start, ok := tok.(xml.StartElement); ok {
			if depth++; depth == 2 { // the Body's one element
				if err := dec.DecodeElement(v, &start); err != nil {
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
	if err := p.Decode(v); err != nil {
		return nil, err
	}
	return cert, nil
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

func randID() string { return strings.ToLower(rand.Text()[:20]) }
