package scsp

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/obert-gov/obert/connectors"
)

var now = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func signed(t testing.TB) ([]byte, Signer) {
	t.Helper()
	k, c, err := NewSelfSigned("test", now)
	if err != nil {
		t.Fatal(err)
	}
	s := Signer{Key: k, Cert: c}
	conn, _ := NewConnector(ConnectorConfig{ID: "c", Category: connectors.Census, Service: Census, Client: &Client{}, Now: func() time.Time { return now }})
	p, err := conn.Build(connectors.Request{RequestID: "R1", Titular: connectors.Titular{DocType: "NIF", DocNumber: "12345678Z"},
		Purpose: "Recomanació d'ajuts", Consent: connectors.ConsentYes, Requester: testRequester})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := xml.Marshal(p)
	env, err := s.Envelope(body, now)
	if err != nil {
		t.Fatal(err)
	}
	return env, s
}

func TestSignVerify(t *testing.T) {
	env, s := signed(t)
	msg, cert, err := VerifyPayload(env, []*x509.Certificate{s.Cert})
	if err != nil {
		t.Fatal(err)
	}
	if cert != s.Cert || msg.Name != (xml.Name{Space: NSPeticion, Local: "Peticion"}) {
		t.Fatalf("verified %v by %v", msg.Name, cert.Subject)
	}
	var p Peticion
	if err := msg.Decode(&p); err != nil || p.Atributos.IdPeticion != "R1" ||
		p.Solicitudes.SolicitudTransmision[0].DatosGenericos.Solicitante.Consentimiento != "Si" {
		t.Fatalf("round trip: %+v, %v", p.Atributos, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	env, s := signed(t)
	_, other, _ := NewSelfSigned("other", now)
	trusted := []*x509.Certificate{s.Cert}
	cases := map[string]struct {
		msg     []byte
		trusted []*x509.Certificate
	}{
		"untrusted signer": {env, []*x509.Certificate{other}},
		"body modified":    {bytes.Replace(env, []byte("12345678Z"), []byte("87654321X"), 1), trusted},
		"purpose modified": {bytes.Replace(env, []byte("Recomanació"), []byte("Publicitat"), 1), trusted},
		"signature value":  {bytes.Replace(env, []byte("<ds:SignatureValue>"), []byte("<ds:SignatureValue>AAAA"), 1), trusted},
		"unsigned":         {[]byte(`<soapenv:Envelope xmlns:soapenv="` + NSSoap + `"><soapenv:Body><Peticion/></soapenv:Body></soapenv:Envelope>`), trusted},
		"doctype":          {append([]byte(`<!DOCTYPE x [<!ENTITY a "b">]>`), env...), trusted},
		"not xml":          {[]byte("<<<"), trusted},
		"oversize":         {append(env, bytes.Repeat([]byte(" "), MaxMessage)...), trusted},
		// Wrapping: a second Body with the signed one moved aside.
		"second body": {bytes.Replace(env, []byte("</soapenv:Envelope>"),
			[]byte(`<soapenv:Body><Peticion xmlns="`+NSPeticion+`"/></soapenv:Body></soapenv:Envelope>`), 1), trusted},
		// Wrapping: the signed Body's id reused on an injected element.
		"duplicate id": {bytes.Replace(env, []byte("<soapenv:Header>"),
			[]byte(`<soapenv:Header><x wsu:Id="`+bodyIDOf(t, env)+`"/>`), 1), trusted},
	}
	for name, c := range cases {
		_, _, err := VerifyPayload(c.msg, c.trusted)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v is neither ErrSignature nor ErrMalformed", name, err)
		}
		if _, _, err := Verify(c.msg, c.trusted); err == nil {
			t.Errorf("%s: the etree reading accepts it", name)
		}
	}
}

func bodyIDOf(t testing.TB, env []byte) string {
	s := string(env)
	i := strings.Index(s, `<soapenv:Body wsu:Id="`)
	if i < 0 {
		t.Fatal("no body id")
	}
	s = s[i+len(`<soapenv:Body wsu:Id="`):]
	return s[:strings.IndexByte(s, '"')]
}

func BenchmarkSCSPSignBuild(b *testing.B) {
	k, c, _ := NewSelfSigned("bench", now)
	conn, _ := NewConnector(ConnectorConfig{ID: "c", Category: connectors.Census, Service: Census, Client: &Client{}})
	req := connectors.Request{RequestID: "R1", Titular: connectors.Titular{DocType: "NIF", DocNumber: "12345678Z"},
		Purpose: "Recomanació d'ajuts", Consent: connectors.ConsentYes, Requester: testRequester}
	for _, impl := range []string{RSAGo, RSALibcrypto} {
		b.Run(impl, func(b *testing.B) {
			s, err := NewSigner(k, c, impl)
			if err != nil {
				b.Skip(err)
			}
			// As the client signs a request, its Body written from its
			// fields (canonicalPeticion); and as it did before, encoded by
			// encoding/xml and canonicalised from that text.
			b.Run("fields", func(b *testing.B) {
				cl := &Client{Signer: s, Now: func() time.Time { return now }}
				b.ReportAllocs()
				for b.Loop() {
					p, _ := conn.Build(req)
					if _, err := cl.Sign(b.Context(), p); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("marshal", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					p, _ := conn.Build(req)
					body, _ := xml.Marshal(p)
					if _, err := s.Envelope(body, now); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkSCSPParseVerify(b *testing.B) {
	env, s := signed(b)
	trusted := []*x509.Certificate{s.Cert}
	b.Run("etree", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			el, _, err := Verify(env, trusted)
			if err != nil {
				b.Fatal(err)
			}
			var p Peticion
			if err := UnmarshalElement(el, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var p Peticion
			if _, err := VerifyDecode(env, trusted, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
	// As an exchange verifies its answer: in a goroutine of its own,
	// whose stack starts small and grows (copied) if the verification
	// needs more.
	b.Run("scan-goroutine", func(b *testing.B) {
		b.ReportAllocs()
		errs := make(chan error)
		for b.Loop() {
			go func() {
				var p Peticion
				_, err := VerifyDecode(env, trusted, &p)
				errs <- err
			}()
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	})
}

// testRequester names who makes the tests' requests, as every request
// must.
var testRequester = connectors.Requester{ID: "gencat-drets-socials", Procedure: "OBERT-AJUTS",
	Officer: "Actuació administrativa automatitzada", OfficerNIF: "S0811001G", CaseID: "OBERT-AJUTS-TEST"}

// TestEveryRequestNamesItsMakerAndCaseFile: no request leaves without the
// official or automated action that makes it and its case file, and both
// travel in the request.
func TestEveryRequestNamesItsMakerAndCaseFile(t *testing.T) {
	conn, err := NewConnector(ConnectorConfig{ID: "c", Category: connectors.Census, Service: Census, Client: &Client{}})
	if err != nil {
		t.Fatal(err)
	}
	base := connectors.Request{RequestID: "R1", Titular: connectors.Titular{DocType: "NIF", DocNumber: "12345678Z"},
		Purpose: "Recomanació d'ajuts", Consent: connectors.ConsentYes, Requester: testRequester}
	p, err := conn.Build(base)
	if err != nil {
		t.Fatal(err)
	}
	sol := p.Solicitudes.SolicitudTransmision[0].DatosGenericos.Solicitante
	if sol.Funcionario.NifFuncionario != "S0811001G" || sol.Funcionario.NombreCompletoFuncionario == "" || sol.IdExpediente != "OBERT-AJUTS-TEST" {
		t.Fatalf("the request does not name its maker and case file: %+v", sol)
	}
	for name, change := range map[string]func(*connectors.Request){
		"no officer":     func(r *connectors.Request) { r.Requester.Officer = "" },
		"no officer NIF": func(r *connectors.Request) { r.Requester.OfficerNIF = "" },
		"no case file":   func(r *connectors.Request) { r.Requester.CaseID = "" },
	} {
		req := base
		change(&req)
		if _, err := conn.Build(req); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

// TestVerifyDecodeAsVerify: decoding an answer from the bytes its digest
// covers (VerifyDecode) reads what detaching the element and writing it
// out again did (Verify, UnmarshalElement), for the sources' answers and
// every committed fuzz input; FuzzSCSPParse holds the two together on
// what it generates.
func TestVerifyDecodeAsVerify(t *testing.T) {
	k, c, err := NewSelfSigned("decode", now)
	if err != nil {
		t.Fatal(err)
	}
	trusted := []*x509.Certificate{c}
	envs, answers := sourceAnswers(t, Signer{Key: k, Cert: c})
	for i, env := range envs {
		if got, err := parseBothWays(t, env, trusted); err != nil || !sameAnswer(got, answers[i]) {
			t.Fatalf("answer %d reads as %+v, %v", i, got, err)
		}
	}
	corpus := parseCorpus(t)
	accepted := 0
	for _, in := range corpus {
		// The corpus was signed by keys of past runs: trust the
		// certificate each input carries, so its signature is checked.
		t.Log(in.name)
		if _, err := parseBothWays(t, in.raw, tokenCert(in.raw)); err == nil {
			accepted++
		}
	}
	t.Logf("%d corpus inputs read alike, %d of them accepted", len(corpus), accepted)
}

// tokenCert is the certificate of the BinarySecurityToken in raw, if any.
func tokenCert(raw []byte) []*x509.Certificate {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(raw) != nil {
		return nil
	}
	var out []*x509.Certificate
	for _, tok := range doc.FindElements("//BinarySecurityToken") {
		der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok.Text()))
		if err != nil {
			continue
		}
		if c, err := x509.ParseCertificate(der); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// TestEnvelopeKeepsText: every character a request's text may hold comes
// back as it was sent, carriage returns and tabs included. The envelope
// built as an etree tree wrote a carriage return as itself, which the
// reader turns into a line feed: the Body no longer matched its digest.
func TestEnvelopeKeepsText(t *testing.T) {
	k, c, err := NewSelfSigned("text", now)
	if err != nil {
		t.Fatal(err)
	}
	s := Signer{Key: k, Cert: c}
	const purpose = "Ajuts\tsocials\r\nline\rend \"<&>' \u00e7 \U0001F600"
	var p Peticion
	p.Atributos.IdPeticion = "R1"
	p.Solicitudes.SolicitudTransmision = []SolicitudTransmision{{}}
	p.Solicitudes.SolicitudTransmision[0].DatosGenericos.Solicitante.Finalidad = purpose
	body, err := xml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	env, err := s.Envelope(body, now)
	if err != nil {
		t.Fatal(err)
	}
	var got Peticion
	if _, err := VerifyDecode(env, []*x509.Certificate{c}, &got); err != nil {
		t.Fatal(err)
	}
	if f := got.Solicitudes.SolicitudTransmision[0].DatosGenericos.Solicitante.Finalidad; f != purpose {
		t.Fatalf("purpose %q, sent %q", f, purpose)
	}
	if _, _, err := Verify(env, []*x509.Certificate{c}); err != nil {
		t.Fatalf("the etree reading: %v", err)
	}
}
