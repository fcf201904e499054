package scsp

// The reading of signed envelopes through etree that VerifyPayload
// replaced, kept as the reference the tests hold scan and VerifyPayload to:
// the envelope read into an etree tree, the payload detached from it with
// every namespace in scope declared, written out and decoded again.

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

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

func faultError(f *etree.Element) error {
	var code, str string
	if c := f.SelectElement("faultcode"); c != nil {
		code = c.Text()
	}
	if s := f.SelectElement("faultstring"); s != nil {
		str = s.Text()
	}
	return &FaultError{Code: code, String: str}
}

// UnmarshalElement decodes an etree element, such as the payload Verify
// returns, into v; what does not decode is ErrMalformed.
func UnmarshalElement(el *etree.Element, v any) error {
	d := etree.NewDocument()
	d.SetRoot(el)
	b, err := d.WriteToBytes()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}
