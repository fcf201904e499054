package scsp

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// decodeTargets are the types payloads are decoded into: the messages of
// both directions, and one decodeInto has no plan for (decodeData
// passes it to encoding/xml).
func decodeTargets() []any {
	return []any{new(Respuesta), new(Peticion), new(SolicitudRespuesta), new(struct {
		XMLName xml.Name
		Attr    string `xml:"urn:x a,attr"`
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
	if p := planOf(reflect.TypeOf(decodeTargets()[3]).Elem()); !strings.Contains(p.unsupportedBy, "namespaced attribute") {
		t.Errorf("a type with a namespaced attribute has a plan: %q", p.unsupportedBy)
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

// dataTargets are the types the services' specific data are decoded into,
// and one with every kind of field decodeData decodes itself.
func dataTargets() []any {
	type every struct {
		XMLName xml.Name `xml:"urn:e E"`
		S       string   `xml:"s,attr"`
		N       int      `xml:"n,attr"`
		B       bool     `xml:"b,attr"`
		Codi    string   `xml:"codi,attr"`
		Lang    string   `xml:"lang,attr"`
		X       string   `xml:"xmlns,attr"`
		Text    bool     `xml:",chardata"`
		Ss      []string `xml:"S"`
		Ns      []int    `xml:"N"`
		Bs      []bool   `xml:"B"`
		One     bool
		Place   *Place
		Places  []Place `xml:"P"`
	}
	// Named whatever it is named, in whatever namespace.
	type anyName struct {
		XMLName  xml.Name
		Municipi Place
	}
	return []any{new(CensusData), new(TaxData), new(EmploymentData), new(RepresentationData), new(CompanyData),
		new(CensusVerification), new(TaxQuery), new(every), new(anyName)}
}

// decodeDataBothWays decodes raw into every data target with decodeData
// and with xml.Unmarshal: the same verdicts and values.
func decodeDataBothWays(t testing.TB, raw []byte) {
	t.Helper()
	for _, target := range dataTargets() {
		fast := reflect.New(reflect.TypeOf(target).Elem()).Interface()
		slow := reflect.New(reflect.TypeOf(target).Elem()).Interface()
		ferr, serr := decodeData(raw, fast), xml.Unmarshal(raw, slow)
		if (ferr == nil) != (serr == nil) || ferr == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%T from %q:\nscan         %+v (%v)\nencoding/xml %+v (%v)", target, raw, fast, ferr, slow, serr)
		}
	}
}

// dataCases are the services' specific data, as sources write them and
// in shapes decoding must get right: attributes with white space, empty,
// repeated in other namespaces or as declarations; booleans of every
// spelling, empty and wrong; text beside elements, in CDATA, with
// comments; elements repeated; other roots, namespaces and prefixes,
// undeclared among them; content before and after the root.
var dataCases = func() []string {
	var out []string
	for _, v := range []any{
		CensusData{Municipi: Place{Codi: "08019", Nom: "Barcelona"}, Comarca: &Place{Codi: "13", Nom: "Barcelonès"}, DataAlta: "2001-02-03", DataNaixement: "1980-01-01"},
		CensusData{Municipi: Place{Codi: " 1 ", Nom: "A & B <c>"}, DataAlta: "x"},
		TaxData{Exercici: 2025, Declarada: true, Renda: 18250, AlCorrent: true}, TaxData{},
		EmploymentData{EnAlta: true, MesosCotitzats5A: 60, Prestacio: true}, EmploymentData{DataBaixa: "2024-05-01"},
		RepresentationData{Representacions: []Representacio{{NIF: "B12345678", Poders: "general", Nom: "Fusteria, SL"}, {NIF: "A1", Poders: "tax"}}},
		CompanyData{RaoSocial: "Fusteria, SL", AlCorrent: true},
		CensusVerification{Respostes: []Resposta{{Pregunta: "lives_alone", Valor: true}, {Pregunta: "household_size", Valor: false}}},
		CensusVerification{Preguntes: []string{"age", "lives_alone"}}, TaxQuery{Exercici: 2024},
	} {
		b, err := xml.Marshal(v)
		if err != nil {
			panic(err)
		}
		out = append(out, string(b))
	}
	padro := `xmlns="` + NSCensus + `"`
	return append(out,
		`<Resultat `+padro+`><Municipi codi=" 08019 ">Bar<!-- c -->ce<![CDATA[lo]]>na<x>no</x></Municipi><Convivents total=" 3 " menors="" majors65="1"/><Convivents total="4"/></Resultat>`,
		`<Resultat `+padro+`><Convivents total="x"/></Resultat>`,
		`<Resultat `+padro+`><Convivents total="99999999999999999999"/></Resultat>`,
		`<Resultat `+padro+` xmlns:codi="urn:c"><Municipi xmlns:codi="urn:d" codi="1" p:codi="2" xmlns:p="urn:p"/></Resultat>`,
		`<Resultat `+padro+`><Municipi p:codi="2" codi="1" xmlns:p="urn:p"/></Resultat>`,
		`<r:Resultat xmlns:r="`+NSCensus+`"><r:Municipi codi="1">M</r:Municipi><r:DataAlta>2000-01-01</r:DataAlta></r:Resultat>`,
		`<r:Resultat><Municipi/></r:Resultat>`, `<Resultat><Municipi/></Resultat>`, `<Resultat xmlns="urn:other"/>`,
		`<Resultat `+padro+`><x:Municipi codi="1"/></Resultat>`,
		`<Resultat xmlns="http://www.aoc.cat/via-oberta/aeat/v1"><Declarada> true </Declarada><AlCorrent>1</AlCorrent><Renda> 7 </Renda><Exercici></Exercici></Resultat>`,
		`<Resultat xmlns="http://www.aoc.cat/via-oberta/aeat/v1"><Declarada>yes</Declarada></Resultat>`,
		`<Resultat xmlns="http://www.aoc.cat/via-oberta/aeat/v1"><Declarada>F</Declarada><Declarada>T</Declarada><AlCorrent><b>true</b></AlCorrent></Resultat>`,
		`<Resultat xmlns="http://www.aoc.cat/via-oberta/aeat/v1"><AlCorrent>tr<!-- -->ue</AlCorrent></Resultat>`,
		`<Resultat xmlns="http://www.aoc.cat/via-oberta/rere/v1"><Representacio nif="B1" poders="general">Nom <i>x</i> SL</Representacio><Representacio/><Representacio nif="" nif2="x">&amp;</Representacio></Resultat>`,
		`<Verificacio xmlns="`+NSCensus+`"><Resposta pregunta="a"> true </Resposta><Resposta pregunta="b"></Resposta><Resposta>0</Resposta><Pregunta>p<q/>r</Pregunta></Verificacio>`,
		`<Verificacio xmlns="`+NSCensus+`"><Resposta pregunta="a">maybe</Resposta></Verificacio>`,
		`<E xmlns="urn:e" s=" s " n="-1" b="0" codi="c" xml:lang="ca" xmlns:s="urn:s">true<S>a</S><N> 2 </N><B>1</B><S/><N></N><B></B><One>true</One><Place codi="p">n</Place><P codi="1"/><P>q</P></E>`,
		`<E xmlns="urn:e" n=""><N>x</N></E>`, `<E xmlns="urn:e" b="2"/>`, `<E xmlns="urn:e"> t<!-- -->rue </E>`, `<E xmlns="urn:e">yes</E>`,
		" \n<!-- before --><?pi x?><Resultat "+padro+"/>\n<!-- after -->", `<Resultat `+padro+`/><Resultat `+padro+`/>`, `<Resultat `+padro+`/>trailing`,
		`text<Resultat `+padro+`/>`, `<Resultat `+padro+`>`, ``, `<!DOCTYPE Resultat><Resultat `+padro+`/>`,
		`<Resultat `+padro+` a="1" a="2"/>`, `<Resultat `+padro+`><Municipi codi="&#9;1&#10;">&#xD;</Municipi></Resultat>`,
		"<Resultat "+padro+"><Municipi codi=\"\t1\n\">\r\n</Municipi></Resultat>",
	)
}()

// TestDecodeDataAsEncodingXML: the services' specific data decode from
// scan's nodes as encoding/xml decodes them, and their types have plans.
func TestDecodeDataAsEncodingXML(t *testing.T) {
	for _, target := range dataTargets() {
		if p := planOf(reflect.TypeOf(target).Elem()); p.unsupportedBy != "" {
			t.Errorf("%T has no plan: %s", target, p.unsupportedBy)
		}
	}
	for _, x := range dataCases {
		decodeDataBothWays(t, []byte(x))
	}
	for _, x := range append(decodeCases, c14nCases...) {
		decodeDataBothWays(t, []byte(x))
	}
}

// FuzzDecodeData: on any bytes, decodeData gives what xml.Unmarshal gives,
// or both refuse them.
func FuzzDecodeData(f *testing.F) {
	for _, x := range dataCases {
		f.Add([]byte(x))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 64<<10 {
			return
		}
		decodeDataBothWays(t, raw)
	})
}

// BenchmarkSCSPDecodeData: a census answer's specific data decoded by
// decodeData and by encoding/xml.
func BenchmarkSCSPDecodeData(b *testing.B) {
	raw := []byte(dataCases[0])
	for _, way := range []struct {
		name   string
		decode func([]byte, any) error
	}{{"scan", decodeData}, {"encoding-xml", xml.Unmarshal}} {
		b.Run(way.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var d CensusData
				if err := way.decode(raw, &d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
