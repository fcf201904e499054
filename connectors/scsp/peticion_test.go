package scsp

import (
	"bytes"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors"
)

// TestCanonicalPeticion: a request's Body written from its fields is,
// byte for byte, the canonical form of the text encoding/xml writes for it
// (as Envelope signed it), on every request the services build and on
// random ones: text with every character encoding/xml escapes or
// replaces, optional elements present and not, specific data in other
// namespaces, malformed, nested to the depth bound and past it, and
// elements up to the bound and past it. Whatever the old way refused is
// refused, and so is specific data that closes DatosEspecificos and opens
// another, which the old way signed as two.
func TestCanonicalPeticion(t *testing.T) {
	check := func(name string, p *Peticion, unbalanced bool) {
		t.Helper()
		raw, err := xml.Marshal(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want, werr := canonicalBody(raw, "Body-c")
		got, gerr := canonicalPeticion(p, "Body-c")
		switch {
		case unbalanced && gerr == nil:
			t.Errorf("%s: specific data that is not one fragment accepted:\n%s", name, got)
		case unbalanced:
		case (werr == nil) != (gerr == nil):
			t.Errorf("%s: marshalled and canonicalised: %v; written: %v\n%s", name, werr, gerr, raw)
		case gerr == nil && !bytes.Equal(got, want):
			t.Errorf("%s: written\n%s\nmarshalled and canonicalised\n%s", name, got, want)
		}
	}

	// Every request the services build, with and without their specific
	// data.
	now := time.Date(2026, 12, 1, 9, 30, 0, 123e6, time.UTC)
	req := connectors.Request{RequestID: "REQ-1", Purpose: "Recomanació d'ajuts & <altres>", Consent: connectors.ConsentYes,
		Titular:   connectors.Titular{DocType: "NIF", DocNumber: "12345678Z", Name: "Núria", Surname1: "Puig", Surname2: "O'Brien"},
		Requester: connectors.Requester{ID: "S0811001G", Name: "Departament de Drets Socials", Unit: "Unitat \"A\"", Procedure: "OBERT-AJUTS", Officer: "Actuació automatitzada", OfficerNIF: "S0811001G", CaseID: "EXP-1"}}
	for _, svc := range []Service{Census, Tax, Employment, Representation, Company} {
		conn, err := NewConnector(ConnectorConfig{ID: svc.Code, Category: "c", Service: svc, Client: &Client{},
			EmisorNIF: "Q0801175A", Emisor: "Consorci AOC", Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		p, err := conn.Build(req)
		if err != nil {
			t.Fatal(err)
		}
		check(svc.Code, p, false)
		if svc.Period != nil {
			inner, err := svc.Period(2025)
			if err != nil {
				t.Fatal(err)
			}
			p.Solicitudes.SolicitudTransmision[0].DatosEspecificos = &Raw{Inner: inner}
			check(svc.Code+" with a period", p, false)
		}
		if svc.Ask != nil {
			inner, err := svc.Ask(svc.Released(""))
			if err != nil {
				t.Fatal(err)
			}
			p.Solicitudes.SolicitudTransmision[0].DatosEspecificos = &Raw{Inner: inner}
			check(svc.Code+" with questions", p, false)
		}
	}

	// Random requests.
	rng := rand.New(rand.NewPCG(2026, 12))
	pieces := []string{"", "a", "Núria", "O'Brien", "&", "<", ">", `"`, "'", "\t", "\n", "\r", "\r\n", " ", "  x  ",
		"\x00", "\x01", "\x1f", "\x7f", "\x80", "\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xef\xbf\xbe", "\xef\xbf\xbf",
		"\uFFFD", "\u2028", "😀", "\U0010FFFF", "]]>", "&amp;", "&#34;", "<x/>", "\u00a0", "€"}
	text := func() string {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	maybe := func() string {
		if rng.IntN(2) == 0 {
			return ""
		}
		return text()
	}
	specifics := []string{
		"", "plain", "a & b", "<a/>", `<x:a xmlns:x="urn:x" b="1" a="2"><x:b>t</x:b></x:a>`, `<a xmlns="">t</a>`,
		`<a xmlns="urn:y" z="&quot;&#9;"><b c="d"/>x&#13;y</a>`, `<Verificacio xmlns="` + NSCensus + `"><Pregunta>age</Pregunta></Verificacio>`,
		"<![CDATA[<x>&]]>", "<!-- c --><a/>", "<?pi data?>", `<a xmlns:p="urn:p" p:q="1" q="2" xml:lang="ca"/>`,
		"<a>", "</a>", "<a></b>", `<p:a/>`, `<a xmlns:xmlns="urn:z"/>`, "<!DOCTYPE a>", "\r\n<a>\r\n</a>\r\n",
		strings.Repeat("<d>", 995) + strings.Repeat("</d>", 995), strings.Repeat("<d>", 996) + strings.Repeat("</d>", 996),
		strings.Repeat("<d>", 997) + strings.Repeat("</d>", 997),
		strings.Repeat("<e/>", 955), strings.Repeat("<e/>", 960), strings.Repeat("<e/>", 1000),
	}
	unbalanced := []string{"</DatosEspecificos><DatosEspecificos>", "<a/></DatosEspecificos><DatosEspecificos>t",
		"</DatosEspecificos><!-- --><DatosEspecificos>"}
	for n := range 4000 {
		var p Peticion
		p.Atributos = Atributos{IdPeticion: text(), NumElementos: rng.IntN(5) - 1, TimeStamp: text(), CodigoCertificado: text()}
		if rng.IntN(4) == 0 {
			p.Atributos.Estado = &Estado{CodigoEstado: text(), CodigoEstadoSecundario: maybe(), LiteralError: text(), TiempoEstimadoRespuesta: rng.IntN(3)}
		}
		bad := false
		for range rng.IntN(3) + rng.IntN(2) {
			var s SolicitudTransmision
			g := &s.DatosGenericos
			g.Emisor.NifEmisor, g.Emisor.NombreEmisor = text(), text()
			g.Solicitante = Solicitante{IdentificadorSolicitante: text(), NombreSolicitante: text(), UnidadTramitadora: maybe(),
				Finalidad: text(), Consentimiento: text(), IdExpediente: text()}
			g.Solicitante.Procedimiento.CodProcedimiento, g.Solicitante.Procedimiento.NombreProcedimiento = text(), maybe()
			g.Solicitante.Funcionario.NombreCompletoFuncionario, g.Solicitante.Funcionario.NifFuncionario = text(), text()
			g.Titular = Titular{TipoDocumentacion: text(), Documentacion: text(), NombreCompleto: text(), Nombre: text(), Apellido1: text(), Apellido2: maybe()}
			g.Transmision = Transmision{CodigoCertificado: text(), IdSolicitud: text(), IdTransmision: maybe(), FechaGeneracion: text()}
			switch k := rng.IntN(len(specifics) + 4); {
			case k < len(specifics):
				s.DatosEspecificos = &Raw{Inner: []byte(specifics[k])}
			case k == len(specifics):
				s.DatosEspecificos = &Raw{Inner: []byte(unbalanced[rng.IntN(len(unbalanced))])}
				bad = true
			}
			p.Solicitudes.SolicitudTransmision = append(p.Solicitudes.SolicitudTransmision, s)
		}
		check(fmt.Sprint("random ", n), &p, bad)
	}
}

// TestSignPeticionVerifies: a request signed by the client verifies, and
// what it carries reads back as the request.
func TestSignPeticionVerifies(t *testing.T) {
	k, c, err := NewSelfSigned("client", now)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := NewConnector(ConnectorConfig{ID: "census", Category: "census", Service: Census, Client: &Client{},
		EmisorNIF: "Q0801175A", Emisor: "Consorci AOC"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := conn.Build(connectors.Request{RequestID: "REQ-2", Purpose: "Ajuts\r\n<&>", Consent: connectors.ConsentLaw,
		Titular:   connectors.Titular{DocType: "NIE", DocNumber: "X1234567L", Name: "Ana\x00", Surname1: "Ruiz"},
		Requester: connectors.Requester{ID: "S1", Name: "Dept", Procedure: "P", Officer: "O", OfficerNIF: "N", CaseID: "E"}})
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := Census.Ask([]string{"household_size", "lives_alone"})
	p.Solicitudes.SolicitudTransmision[0].DatosEspecificos = &Raw{Inner: inner}
	env, err := (&Client{Signer: Signer{Key: k, Cert: c}}).Sign(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	payload, _, err := VerifyPayload(env, []*x509.Certificate{c})
	if err != nil {
		t.Fatal(err)
	}
	var back Peticion
	if err := payload.Decode(&back); err != nil {
		t.Fatal(err)
	}
	raw, _ := xml.Marshal(p)
	rawBack, _ := xml.Marshal(&back)
	if !bytes.Equal(rawBack, raw) {
		t.Errorf("read back\n%s\nsent\n%s", rawBack, raw)
	}
}
