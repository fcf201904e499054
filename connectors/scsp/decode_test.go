package scsp

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// decodeTargets are the types payloads are decoded into: the messages of
// both directions, and one decodeInto has no plan for.
func decodeTargets() []any {
	return []any{new(Respuesta), new(Peticion), new(SolicitudRespuesta), new(struct {
		XMLName xml.Name
		Attr    string `xml:"a,attr"`
	})}
}

// decodeBothWays decodes the Body holding body into every target with
// Payload.Decode and with encoding/xml: the same verdicts and values.
func decodeBothWays(t testing.TB, body []byte) {
	t.Helper()
	canon, err := canonicalBody(body, "Body-x")
	if err != nil {
		return
	}
	p := Payload{signed: canon}
	for _, target := range decodeTargets() {
		fast := reflect.New(reflect.TypeOf(target).Elem()).Interface()
		slow := reflect.New(reflect.TypeOf(target).Elem()).Interface()
		ferr, serr := p.Decode(fast), decodeXML(canon, slow)
		if (ferr == nil) != (serr == nil) || ferr == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%T from %s:\nscan       %+v (%v)\nencoding/xml %+v (%v)", target, canon, fast, ferr, slow, serr)
		}
	}
}

// decodeCases are shapes decoding must get right: integers with spaces,
// empty or not numbers; repeated elements, single and in slices; unknown
// elements, text beside elements, comments and CDATA inside text; another
// root name or namespace; specific data with prefixes and nesting.
var decodeCases = []string{
	`<Respuesta xmlns="` + NSRespuesta + `"><Atributos><IdPeticion>R<!-- c -->1<![CDATA[<&>]]></IdPeticion><NumElementos> 3 </NumElementos>` +
		`<Estado><CodigoEstado>0003</CodigoEstado><TiempoEstimadoRespuesta></TiempoEstimadoRespuesta></Estado><Estado><LiteralError>x<b>y</b>z</LiteralError></Estado></Atributos>` +
		`<Transmisiones><TransmisionDatos><DatosEspecificos><p:R xmlns:p="urn:p" p:a="1"><p:S>&amp;</p:S></p:R></DatosEspecificos></TransmisionDatos>` +
		`<TransmisionDatos><DatosGenericos><Titular><Documentacion>12345678Z</Documentacion></Titular></DatosGenericos><DatosEspecificos></DatosEspecificos><DatosEspecificos>2</DatosEspecificos></TransmisionDatos>` +
		`<Unknown><IdPeticion>no</IdPeticion></Unknown>text</Transmisiones><Atributos><CodigoCertificado>C</CodigoCertificado></Atributos></Respuesta>`,
	`<Respuesta xmlns="` + NSRespuesta + `"><Atributos><NumElementos>  </NumElementos></Atributos></Respuesta>`,
	`<Respuesta xmlns="` + NSRespuesta + `"><Atributos><NumElementos>x</NumElementos></Atributos></Respuesta>`,
	`<Respuesta xmlns="` + NSRespuesta + `"><Transmisiones><TransmisionDatos><DatosGenericos><Transmision><IdTransmision>1</IdTransmision></Transmision></DatosGenericos><Estado><TiempoEstimadoRespuesta>9999999999999999999</TiempoEstimadoRespuesta></Estado></TransmisionDatos></Transmisiones></Respuesta>`,
	`<Respuesta xmlns="urn:other"><Atributos/></Respuesta>`,
	`<r:Respuesta xmlns:r="` + NSRespuesta + `"><r:Atributos><r:IdPeticion>1</r:IdPeticion></r:Atributos><Atributos><IdPeticion>2</IdPeticion></Atributos></r:Respuesta>`,
	`<Peticion xmlns="` + NSPeticion + `"><Solicitudes><SolicitudTransmision><DatosGenericos><Solicitante><Procedimiento><CodProcedimiento>P</CodProcedimiento></Procedimiento></Solicitante></DatosGenericos></SolicitudTransmision><SolicitudTransmision/></Solicitudes></Peticion>`,
	`<SolicitudRespuesta xmlns="` + NSSolicitudRespuesta + `"><Atributos><IdPeticion>A</IdPeticion></Atributos></SolicitudRespuesta>`,
	`<Other a="1"/>`,
}

// TestDecodeAsEncodingXML: on every message this package writes and reads
// and on the shapes above, decoding from scan's nodes gives what
// encoding/xml gives, and the message types have plans.
func TestDecodeAsEncodingXML(t *testing.T) {
	for _, target := range decodeTargets()[:3] {
		if p := planOf(reflect.TypeOf(target).Elem()); p.unsupportedBy != "" {
			t.Errorf("%T has no plan: %s", target, p.unsupportedBy)
		}
	}
	if p := planOf(reflect.TypeOf(decodeTargets()[3]).Elem()); !strings.Contains(p.unsupportedBy, "attr") {
		t.Errorf("a type with an attribute has a plan: %q", p.unsupportedBy)
	}
	for _, b := range envelopeBodies(t) {
		decodeBothWays(t, b)
	}
	for _, x := range append(decodeCases, c14nCases...) {
		decodeBothWays(t, []byte(x))
	}
}

// FuzzDecode: on any body, decoding its Body's canonical form from scan's
// nodes gives what encoding/xml gives, or both refuse it.
func FuzzDecode(f *testing.F) {
	for _, b := range envelopeBodies(f) {
		f.Add(b)
	}
	for _, x := range append(decodeCases, c14nCases...) {
		f.Add([]byte(x))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 64<<10 {
			return
		}
		decodeBothWays(t, body)
	})
}
