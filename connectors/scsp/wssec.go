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
	"github.com/russellhaering/goxmldsig/etreeutils"
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

// Verify checks a signed envelope against the trusted certificates and
// returns the single element inside the soap:Body that the signature covers,
// and the certificate that signed it. Only that element may be processed:
// a signature over anything else (signature wrapping) is refused.
func Verify(raw []byte, trusted []*x509.Certificate) (*etree.Element, *x509.Certificate, error) {
	payload, _, cert, err := verify(raw, trusted)
	if err != nil {
		return nil, nil, err
	}
	out, err := detach(payload)
	if err != nil {
		return nil, nil, err
	}
	return out, cert, nil
}

// VerifyDecode checks a signed envelope as Verify does and decodes the
// element the signature covers into v (encoding/xml), from the very bytes
// whose digest was checked: the Body's canonical form. That is the same
// result as Verify and UnmarshalElement (TestVerifyDecodeAsVerify) without
// copying the element out of its envelope and writing it out again.
func VerifyDecode(raw []byte, trusted []*x509.Certificate, v any) (*x509.Certificate, error) {
	_, signed, cert, err := verify(raw, trusted)
	if err != nil {
		return nil, err
	}
	d := xml.NewDecoder(bytes.NewReader(signed))
	for depth := 0; ; {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if start, ok := tok.(xml.StartElement); ok {
			if depth++; depth == 2 { // the Body's one element
				if err := d.DecodeElement(v, &start); err != nil {
					return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
				}
				return cert, nil
			}
		}
	}
}

// verify checks a signed envelope and returns the one element of its
// Body, the Body's canonical form (what the digest covers) and the
// certificate that signed it.
func verify(raw []byte, trusted []*x509.Certificate) (*etree.Element, []byte, *x509.Certificate, error) {
	if len(raw) > MaxMessage {
		return nil, nil, nil, fmt.Errorf("%w: message of %d bytes exceeds the limit", ErrMalformed, len(raw))
	}
	if bytes.Contains(raw, []byte("<!DOCTYPE")) || bytes.Contains(raw, []byte("<!ENTITY")) {
		return nil, nil, nil, fmt.Errorf("%w: document type declarations are not accepted", ErrMalformed)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	env := doc.Root()
	if env == nil || env.Tag != "Envelope" || env.NamespaceURI() != NSSoap {
		return nil, nil, nil, fmt.Errorf("%w: not a SOAP 1.1 envelope", ErrMalformed)
	}
	body := onlyChild(env, NSSoap, "Body")
	if body == nil {
		return nil, nil, nil, fmt.Errorf("%w: envelope must have exactly one Body", ErrMalformed)
	}
	if fault := onlyChild(body, NSSoap, "Fault"); fault != nil {
		return nil, nil, nil, faultError(fault)
	}
	hdr := onlyChild(env, NSSoap, "Header")
	if hdr == nil {
		return nil, nil, nil, fmt.Errorf("%w: no Security header", ErrSignature)
	}
	sec := onlyChild(hdr, NSWsse, "Security")
	if sec == nil {
		return nil, nil, nil, fmt.Errorf("%w: no Security header", ErrSignature)
	}
	sig := onlyChild(sec, NSDsig, "Signature")
	tokEl := onlyChild(sec, NSWsse, "BinarySecurityToken")
	if sig == nil || tokEl == nil {
		return nil, nil, nil, fmt.Errorf("%w: unsigned message", ErrSignature)
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tokEl.Text()))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: bad security token", ErrSignature)
	}
	var cert *x509.Certificate
	for _, c := range trusted {
		if bytes.Equal(c.Raw, der) {
			cert = c
		}
	}
	if cert == nil {
		return nil, nil, nil, fmt.Errorf("%w: signed by an untrusted certificate", ErrSignature)
	}
	si := onlyChild(sig, NSDsig, "SignedInfo")
	sv := onlyChild(sig, NSDsig, "SignatureValue")
	if si == nil || sv == nil {
		return nil, nil, nil, fmt.Errorf("%w: incomplete signature", ErrSignature)
	}
	if m := onlyChild(si, NSDsig, "CanonicalizationMethod"); m == nil || m.SelectAttrValue("Algorithm", "") != algExc {
		return nil, nil, nil, fmt.Errorf("%w: unsupported canonicalisation", ErrSignature)
	}
	if m := onlyChild(si, NSDsig, "SignatureMethod"); m == nil || m.SelectAttrValue("Algorithm", "") != algRSA {
		return nil, nil, nil, fmt.Errorf("%w: unsupported signature method", ErrSignature)
	}
	refs := children(si, NSDsig, "Reference")
	if len(refs) != 1 {
		return nil, nil, nil, fmt.Errorf("%w: want exactly one reference", ErrSignature)
	}
	// The reference must name the one Body of this envelope, by its id.
	bodyID := attrNS(body, NSWsu, "Id")
	if bodyID == "" || refs[0].SelectAttrValue("URI", "") != "#"+bodyID {
		return nil, nil, nil, fmt.Errorf("%w: the signature does not cover the Body", ErrSignature)
	}
	if n := countID(doc.Root(), bodyID); n != 1 {
		return nil, nil, nil, fmt.Errorf("%w: id %q appears %d times", ErrSignature, bodyID, n)
	}
	if dm := onlyChild(refs[0], NSDsig, "DigestMethod"); dm == nil || dm.SelectAttrValue("Algorithm", "") != algSHA {
		return nil, nil, nil, fmt.Errorf("%w: unsupported digest", ErrSignature)
	}
	for _, tr := range children(onlyChild(refs[0], NSDsig, "Transforms"), NSDsig, "Transform") {
		if tr.SelectAttrValue("Algorithm", "") != algExc {
			return nil, nil, nil, fmt.Errorf("%w: unsupported transform", ErrSignature)
		}
	}
	dv := onlyChild(refs[0], NSDsig, "DigestValue")
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(textOf(dv)))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: bad digest value", ErrSignature)
	}
	bodyC14n, err := excC14N(body)
	if err != nil {
		return nil, nil, nil, err
	}
	if got := sha256.Sum256(bodyC14n); !bytes.Equal(got[:], want) {
		return nil, nil, nil, fmt.Errorf("%w: the Body was modified after signing", ErrSignature)
	}
	siC14n, err := excC14N(si)
	if err != nil {
		return nil, nil, nil, err
	}
	sigBytes, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sv.Text()), ""))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: bad signature value", ErrSignature)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, nil, nil, fmt.Errorf("%w: certificate key is not RSA", ErrSignature)
	}
	h := sha256.Sum256(siC14n)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sigBytes); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: signature does not verify", ErrSignature)
	}
	payload := body.ChildElements()
	if len(payload) != 1 {
		return nil, nil, nil, fmt.Errorf("%w: Body must hold exactly one element", ErrMalformed)
	}
	return payload[0], bodyC14n, cert, nil
}

// detach copies el with every namespace in scope declared on it.
func detach(el *etree.Element) (*etree.Element, error) {
	var chain []*etree.Element
	for p := el.Parent(); p != nil && p.Tag != ""; p = p.Parent() {
		chain = append([]*etree.Element{p}, chain...)
	}
	ctx := etreeutils.NewDefaultNSContext()
	for _, p := range chain {
		var err error
		if ctx, err = ctx.SubContext(p); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	d, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return d, nil
}

func digestOf(el *etree.Element) ([]byte, error) {
	c, err := excC14N(el)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(c)
	return h[:], nil
}

func children(el *etree.Element, ns, tag string) []*etree.Element {
	if el == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func onlyChild(el *etree.Element, ns, tag string) *etree.Element {
	c := children(el, ns, tag)
	if len(c) != 1 {
		return nil
	}
	return c[0]
}

func textOf(el *etree.Element) string {
	if el == nil {
		return ""
	}
	return el.Text()
}

func attrNS(el *etree.Element, ns, key string) string {
	for _, a := range el.Attr {
		if a.Key == key && a.NamespaceURI() == ns {
			return a.Value
		}
	}
	return ""
}

func countID(el *etree.Element, id string) int {
	n := 0
	for _, a := range el.Attr {
		if (a.Key == "Id" || a.Key == "ID" || a.Key == "id") && a.Value == id {
			n++
		}
	}
	for _, c := range el.ChildElements() {
		n += countID(c, id)
	}
	return n
}

func randID() string { return strings.ToLower(rand.Text()[:20]) }
