package scsp

import (
	"bytes"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"testing"
)

// fuzzService is a service registered without code, read by GenericService.
var fuzzService = func() Service {
	s, err := GenericService("GENCAT_DISCAPACITAT", "urn:obert:test:discapacitat", []FieldSpec{
		{Name: "disability_degree", Element: "Grau", Type: "int"},
		{Name: "recognised", Element: "Reconeguda", Type: "bool"},
		{Name: "since", Element: "Data", Type: "date"},
	})
	if err != nil {
		panic(err)
	}
	return s
}()

// answer is what the gateway takes from a response: its attributes and the
// facts of its one transmission.
type answer struct {
	IdPeticion, CodigoCertificado, CodigoEstado string
	Values                                      map[string]any
}

// parseResponse reads a response as Client.send and Connector.Fetch do:
// the verified payload, decoded, in the done state, with one transmission
// whose specific data the service of its certificate code reads.
func parseResponse(raw []byte, trusted []*x509.Certificate) (answer, error) {
	var r Respuesta
	if _, err := VerifyDecode(raw, trusted, &r); err != nil {
		return answer{}, err
	}
	return readAnswer(r)
}

// parseDetached reads a response as parseResponse did before scan and
// VerifyDecode: the envelope read with etree, the payload detached from it
// with Verify, written out and decoded again with UnmarshalElement.
func parseDetached(raw []byte, trusted []*x509.Certificate) (answer, error) {
	el, _, err := Verify(raw, trusted)
	if err != nil {
		return answer{}, err
	}
	var r Respuesta
	if err := UnmarshalElement(el, &r); err != nil {
		return answer{}, err
	}
	return readAnswer(r)
}

// parseBothWays reads raw with parseResponse and parseDetached and fails t
// unless both refuse it or both read the same answer, or scan refuses it
// as stricter than encoding/xml.
func parseBothWays(t testing.TB, raw []byte, trusted []*x509.Certificate) (answer, error) {
	t.Helper()
	got, err := parseResponse(raw, trusted)
	old, oerr := parseDetached(raw, trusted)
	if errors.Is(err, errStricter) {
		return got, err // scan refuses some shapes etree read (TestScanStricter)
	}
	if (err == nil) != (oerr == nil) || err == nil && !sameAnswer(got, old) {
		t.Fatalf("VerifyDecode read %+v (%v), Verify and UnmarshalElement %+v (%v)", got, err, old, oerr)
	}
	return got, err
}

func readAnswer(r Respuesta) (answer, error) {
	if err := StateError(r.Atributos.Estado); err != nil {
		return answer{}, err
	}
	if len(r.Transmisiones.TransmisionDatos) != 1 || r.Transmisiones.TransmisionDatos[0].DatosEspecificos == nil {
		return answer{}, fmt.Errorf("%w: want one transmission with specific data", ErrMalformed)
	}
	svc := Census
	if r.Atributos.CodigoCertificado == fuzzService.Code {
		svc = fuzzService
	}
	v, err := svc.Values(r.Transmisiones.TransmisionDatos[0].DatosEspecificos.Inner)
	if err != nil {
		return answer{}, err
	}
	return answer{r.Atributos.IdPeticion, r.Atributos.CodigoCertificado, r.Atributos.Estado.CodigoEstado, v}, nil
}

// sourceAnswers signs, as a source would, a census answer and an answer of
// fuzzService whose specific data carries the source's own comments; it
// returns the envelopes and what each one says.
func sourceAnswers(t testing.TB, s Signer) ([][]byte, []answer) {
	t.Helper()
	specific := []struct {
		code, inner string
		want        map[string]any
	}{
		{ServiceCensus, `<Resultat xmlns="` + NSCensus + `"><Municipi codi="080193">Barcelona</Municipi>` +
			`<DataAlta>2015-03-01</DataAlta><DataNaixement>1950-05-06</DataNaixement>` +
			`<Convivents total="2" menors="0" majors65="1"/></Resultat>`,
			map[string]any{"municipality_code": "080193", "municipality": "Barcelona", "registered_since": "2015-03-01",
				"birth_date": "1950-05-06", "household_size": 2, "minors_in_household": 0, "over_65_in_household": 1,
				"lives_alone": false}},
		{fuzzService.Code, `<R xmlns="urn:obert:test:discapacitat"><!-- resolució 2020/118 -->` +
			`<Grau>65<!-- percentatge --></Grau><Reconeguda>true</Reconeguda><Data>2020-01-02</Data></R>`,
			map[string]any{"disability_degree": 65, "recognised": true, "since": "2020-01-02"}},
	}
	var envs [][]byte
	var answers []answer
	for i, sp := range specific {
		var r Respuesta
		r.Atributos = Atributos{IdPeticion: fmt.Sprintf("R%d", i+1), NumElementos: 1, TimeStamp: "2026-11-24T10:00:00.000+00:00",
			CodigoCertificado: sp.code, Estado: &Estado{CodigoEstado: StateDone, LiteralError: "Tramitada"}}
		r.Transmisiones.TransmisionDatos = []TransmisionDatos{{DatosEspecificos: &Raw{Inner: []byte(sp.inner)}}}
		body, err := xml.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		env, err := s.Envelope(body, now)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
		answers = append(answers, answer{r.Atributos.IdPeticion, sp.code, StateDone, sp.want})
	}
	return envs, answers
}

// FuzzSCSPParse: reading a response (VerifyDecode, the state, the
// service's Values) never panics, and what it accepts says exactly what
// the source signed: no unsigned, re-signed, wrapped or altered response
// gets through with other attributes or other facts. It reads every input
// as Verify and UnmarshalElement do too, and the two must agree.
func FuzzSCSPParse(f *testing.F) {
	k, c, err := NewSelfSigned("fuzz source", now)
	if err != nil {
		f.Fatal(err)
	}
	trusted := []*x509.Certificate{c}
	envs, answers := sourceAnswers(f, Signer{Key: k, Cert: c})
	for i, env := range envs {
		if got, err := parseResponse(env, trusted); err != nil || !sameAnswer(got, answers[i]) {
			f.Fatalf("the source's answer %d reads as %+v, %v", i, got, err)
		}
		f.Add(env)
		// Starting points for the attacks TestVerifyRejects names: altered
		// facts, the signature stripped, a second Body, the Body's id reused.
		altered := bytes.Replace(bytes.Replace(env, []byte("1950-05-06"), []byte("1900-01-01"), 1), []byte(">65<"), []byte(">75<"), 1)
		unsigned := append([]byte(`<soapenv:Envelope xmlns:soapenv="`+NSSoap+`" xmlns:wsu="`+NSWsu+`">`),
			altered[bytes.Index(altered, []byte("<soapenv:Body")):]...)
		for _, attack := range [][]byte{altered, unsigned,
			bytes.Replace(env, []byte("</soapenv:Envelope>"),
				[]byte(`<soapenv:Body><Respuesta xmlns="`+NSRespuesta+`"/></soapenv:Body></soapenv:Envelope>`), 1),
			bytes.Replace(env, []byte("<soapenv:Header>"), []byte(`<soapenv:Header><x wsu:Id="`+bodyIDOf(f, env)+`"/>`), 1),
		} {
			if _, err := parseResponse(attack, trusted); err == nil {
				f.Fatalf("accepted %s", attack)
			}
			f.Add(attack)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := parseBothWays(t, raw, trusted)
		if err != nil {
			return
		}
		for _, want := range answers {
			if sameAnswer(got, want) {
				return
			}
		}
		t.Fatalf("accepted a response the source did not sign: %+v", got)
	})
}

func sameAnswer(a, b answer) bool {
	return a.IdPeticion == b.IdPeticion && a.CodigoCertificado == b.CodigoCertificado && a.CodigoEstado == b.CodigoEstado &&
		maps.Equal(a.Values, b.Values)
}
