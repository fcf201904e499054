package scsp

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// canonicalPeticion is what canonicalBody gives for p as encoding/xml
// writes it (xml.Marshal), written from p's fields: a request's Body in
// its canonical form, without encoding the request and reading it back,
// the two steps that took most of the CPU of building a request outside
// its signature. Its one part of arbitrary XML, DatosEspecificos, is
// still read with scan and canonicalised in the namespaces around it, and
// must be a balanced fragment: encoding/xml writes it verbatim, so one
// that closed DatosEspecificos and opened another would have been signed
// as two. TestCanonicalPeticion holds the two ways equal, byte for byte,
// on random requests and on every request the services write.
func canonicalPeticion(p *Peticion, bodyID string) ([]byte, error) {
	w := canonWriter{out: make([]byte, 0, 2048+len(bodyID))}
	w.out = append(w.out, bodyStart...)
	w.out = append(w.out, bodyID...)
	w.out = append(w.out, `"><Peticion xmlns="`+NSPeticion+`">`...)
	w.elements = 1
	w.atributos(&p.Atributos)
	w.open("Solicitudes")
	for i := range p.Solicitudes.SolicitudTransmision {
		st := &p.Solicitudes.SolicitudTransmision[i]
		w.open("SolicitudTransmision")
		g := &st.DatosGenericos
		w.open("DatosGenericos")
		w.open("Emisor")
		w.text("NifEmisor", g.Emisor.NifEmisor)
		w.text("NombreEmisor", g.Emisor.NombreEmisor)
		w.close("Emisor")
		s := &g.Solicitante
		w.open("Solicitante")
		w.text("IdentificadorSolicitante", s.IdentificadorSolicitante)
		w.text("NombreSolicitante", s.NombreSolicitante)
		w.text("UnidadTramitadora", s.UnidadTramitadora)
		w.open("Procedimiento")
		w.text("CodProcedimiento", s.Procedimiento.CodProcedimiento)
		w.text("NombreProcedimiento", s.Procedimiento.NombreProcedimiento)
		w.close("Procedimiento")
		w.text("Finalidad", s.Finalidad)
		w.text("Consentimiento", s.Consentimiento)
		w.open("Funcionario")
		w.text("NombreCompletoFuncionario", s.Funcionario.NombreCompletoFuncionario)
		w.text("NifFuncionario", s.Funcionario.NifFuncionario)
		w.close("Funcionario")
		w.text("IdExpediente", s.IdExpediente)
		w.close("Solicitante")
		t := &g.Titular
		w.open("Titular")
		w.text("TipoDocumentacion", t.TipoDocumentacion)
		w.text("Documentacion", t.Documentacion)
		w.text("NombreCompleto", t.NombreCompleto)
		w.text("Nombre", t.Nombre)
		w.text("Apellido1", t.Apellido1)
		w.text("Apellido2", t.Apellido2)
		w.close("Titular")
		tr := &g.Transmision
		w.open("Transmision")
		w.text("CodigoCertificado", tr.CodigoCertificado)
		w.text("IdSolicitud", tr.IdSolicitud)
		if tr.IdTransmision != "" {
			w.text("IdTransmision", tr.IdTransmision)
		}
		w.text("FechaGeneracion", tr.FechaGeneracion)
		w.close("Transmision")
		w.close("DatosGenericos")
		if st.DatosEspecificos != nil {
			if err := w.specific(st.DatosEspecificos.Inner); err != nil {
				return nil, err
			}
		}
		w.close("SolicitudTransmision")
	}
	w.close("Solicitudes")
	w.close("Peticion")
	if w.elements > maxC14NElements {
		return nil, fmt.Errorf("%w: more than %d elements to canonicalise", ErrMalformed, maxC14NElements)
	}
	return append(w.out, bodyEnd...), nil
}

func (w *canonWriter) atributos(a *Atributos) {
	w.open("Atributos")
	w.text("IdPeticion", a.IdPeticion)
	w.int("NumElementos", a.NumElementos)
	w.text("TimeStamp", a.TimeStamp)
	if e := a.Estado; e != nil {
		w.open("Estado")
		w.text("CodigoEstado", e.CodigoEstado)
		if e.CodigoEstadoSecundario != "" {
			w.text("CodigoEstadoSecundario", e.CodigoEstadoSecundario)
		}
		w.text("LiteralError", e.LiteralError)
		if e.TiempoEstimadoRespuesta != 0 {
			w.int("TiempoEstimadoRespuesta", e.TiempoEstimadoRespuesta)
		}
		w.close("Estado")
	}
	w.text("CodigoCertificado", a.CodigoCertificado)
	w.close("Atributos")
}

// canonWriter writes elements of the default namespace, already declared,
// in canonical form, counting them against maxC14NElements as c14n does.
type canonWriter struct {
	out      []byte
	elements int
}

func (w *canonWriter) open(name string) {
	w.elements++
	w.out = append(w.out, '<')
	w.out = append(w.out, name...)
	w.out = append(w.out, '>')
}

func (w *canonWriter) close(name string) {
	w.out = append(w.out, "</"...)
	w.out = append(w.out, name...)
	w.out = append(w.out, '>')
}

func (w *canonWriter) text(name, s string) {
	w.open(name)
	w.out = appendMarshaledText(w.out, s)
	w.close(name)
}

func (w *canonWriter) int(name string, n int) {
	w.open(name)
	w.out = strconv.AppendInt(w.out, int64(n), 10)
	w.close(name)
}

// specific writes DatosEspecificos holding inner, canonicalised in the
// namespaces encoding/xml places it in: the Peticion's default one, under
// the envelope's.
func (w *canonWriter) specific(inner []byte) error {
	const open, end = "<DatosEspecificos>", "</DatosEspecificos>"
	frag := make([]byte, 0, len(open)+len(inner)+len(end))
	frag = append(append(append(frag, open...), inner...), end...)
	// Read as a document of its own, DatosEspecificos is its one root:
	// specific data that closed it and opened another is refused. (It is
	// read less deep than in the Peticion, but nesting as deep as scan's
	// bound takes more elements than c14n's.)
	d, err := scan(frag)
	if err != nil {
		return fmt.Errorf("scsp: body is not XML: %w", err)
	}
	c := c14n{d: d, out: w.out, left: maxC14NElements - w.elements,
		scope:    []binding{{"soapenv", NSSoap}, {"wsse", NSWsse}, {"wsu", NSWsu}, {"", NSPeticion}},
		rendered: []binding{{"soapenv", NSSoap}, {"wsu", NSWsu}, {"", NSPeticion}}}
	if err := c.element(0); err != nil {
		return err
	}
	w.out, w.elements = c.out, maxC14NElements-c.left
	return nil
}

// appendMarshaledText appends s as text in canonical form, as encoding/xml
// writes it and scan reads it back: a character XML does not allow, or a
// byte that is not UTF-8, is U+FFFD, as encoding/xml writes it.
func appendMarshaledText(b []byte, s string) []byte {
	return appendEscaped(b, strings.Map(func(r rune) rune {
		if isChar(r) {
			return r
		}
		return utf8.RuneError
	}, s), false)
}
