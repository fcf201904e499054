// Package scsp speaks SCSP v3, the Spanish public administrations' data
// intermediation protocol that Via Oberta (AOC) carries: it builds and parses
// Peticion and Respuesta messages, signs and verifies them per WS-Security,
// and offers a Client and a Connector over them.
//
// It must never import the gateway, consent, policy or audit packages.
package scsp

import (
	"encoding/xml"
	"fmt"

	"github.com/beevik/etree"

	"github.com/obert-gov/obert/connectors"
)

// Namespaces of the SCSP v3 request and response schemas.
const (
	NSPeticion  = "http://intermediacion.redsara.es/scsp/esquemas/V3/peticion"
	NSRespuesta = "http://intermediacion.redsara.es/scsp/esquemas/V3/respuesta"
)

// ErrMalformed is returned for XML that is not a well-formed SCSP message.
var ErrMalformed = fmt.Errorf("scsp: malformed message: %w", connectors.ErrBadResponse)

// Peticion is an SCSP v3 request with one transmission.
type Peticion struct {
	XMLName     xml.Name `xml:"http://intermediacion.redsara.es/scsp/esquemas/V3/peticion Peticion"`
	Atributos   Atributos
	Solicitudes struct {
		SolicitudTransmision []SolicitudTransmision
	}
}

// Atributos are a message's attributes.
type Atributos struct {
	IdPeticion        string
	NumElementos      int
	TimeStamp         string
	Estado            *Estado `xml:",omitempty"`
	CodigoCertificado string
}

// NSSolicitudRespuesta is the namespace of the asynchronous poll.
const NSSolicitudRespuesta = "http://intermediacion.redsara.es/scsp/esquemas/V3/solicitudRespuesta"

// SolicitudRespuesta asks for the answer to an asynchronous request.
type SolicitudRespuesta struct {
	XMLName   xml.Name `xml:"http://intermediacion.redsara.es/scsp/esquemas/V3/solicitudRespuesta SolicitudRespuesta"`
	Atributos Atributos
}

// Estado is the state of a response.
type Estado struct {
	CodigoEstado            string
	CodigoEstadoSecundario  string `xml:",omitempty"`
	LiteralError            string
	TiempoEstimadoRespuesta int `xml:",omitempty"`
}

// SolicitudTransmision is one transmission of a request.
type SolicitudTransmision struct {
	DatosGenericos   DatosGenericos
	DatosEspecificos *Raw `xml:",omitempty"`
}

// DatosGenericos are the generic data of a transmission.
type DatosGenericos struct {
	Emisor struct {
		NifEmisor    string
		NombreEmisor string
	}
	Solicitante Solicitante
	Titular     Titular
	Transmision Transmision
}

// Solicitante is who asks, for which procedure and purpose, under which
// consent.
type Solicitante struct {
	IdentificadorSolicitante string
	NombreSolicitante        string
	UnidadTramitadora        string
	Procedimiento            struct {
		CodProcedimiento    string
		NombreProcedimiento string
	}
	Finalidad      string
	Consentimiento string
	Funcionario    struct {
		NombreCompletoFuncionario string
		NifFuncionario            string
	}
	IdExpediente string
}

// Titular is the person the request is about.
type Titular struct {
	TipoDocumentacion string
	Documentacion     string
	NombreCompleto    string
	Nombre            string
	Apellido1         string
	Apellido2         string
}

// Transmision identifies one transmission.
type Transmision struct {
	CodigoCertificado string
	IdSolicitud       string
	IdTransmision     string `xml:",omitempty"`
	FechaGeneracion   string
}

// Raw holds service-specific XML verbatim.
type Raw struct {
	Inner []byte `xml:",innerxml"`
}

// Respuesta is an SCSP v3 response.
type Respuesta struct {
	XMLName       xml.Name `xml:"http://intermediacion.redsara.es/scsp/esquemas/V3/respuesta Respuesta"`
	Atributos     Atributos
	Transmisiones struct {
		TransmisionDatos []TransmisionDatos
	}
}

// TransmisionDatos is one transmission of a response.
type TransmisionDatos struct {
	DatosGenericos   DatosGenericos
	DatosEspecificos *Raw `xml:",omitempty"`
}

// SCSP state codes Obert acts on. 0003 is "Tramitada" (done); 0002 "En
// proceso" (asynchronous, poll later). Codes from 0200 are errors.
const (
	StateDone    = "0003"
	StatePending = "0002"
)

// StatusError is an SCSP error state. It wraps the connectors sentinel that
// tells the gateway what to do.
type StatusError struct {
	Code, Literal string
	kind          error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("scsp: state %s: %s", e.Code, e.Literal)
}

func (e *StatusError) Unwrap() error { return e.kind }

// StateCode implements connectors.StateCoder.
func (e *StatusError) StateCode() string { return e.Code }

// Error codes the simulator emits and the client maps: the subset of the
// SCSP catalogue Obert distinguishes.
const (
	CodeNoData       = "0233" // the holder has no record at the source
	CodeBadRequest   = "0226" // the request fails the schema or the rules
	CodeUnauthorized = "0301" // requester not authorised for the service
	CodeUnavailable  = "0502" // source system unavailable
	CodeSignature    = "0415" // request signature invalid
)

// StateError maps an Estado to nil (done) or a typed error.
func StateError(e *Estado) error {
	if e == nil {
		return fmt.Errorf("%w: response without state", ErrMalformed)
	}
	switch c := e.CodigoEstado; {
	case c == StateDone:
		return nil
	case c == CodeNoData:
		return &StatusError{c, e.LiteralError, connectors.ErrNotFound}
	case c == CodeUnavailable:
		return &StatusError{c, e.LiteralError, connectors.ErrUnavailable}
	case c == StatePending:
		return &StatusError{c, e.LiteralError, connectors.ErrPending}
	default:
		return &StatusError{c, e.LiteralError, connectors.ErrRejected}
	}
}

// FaultError is a SOAP fault.
type FaultError struct{ Code, String string }

func (e *FaultError) Error() string { return "scsp: SOAP fault " + e.Code + ": " + e.String }

func (e *FaultError) Unwrap() error {
	if e.Code == "soapenv:Server" {
		return connectors.ErrUnavailable
	}
	return connectors.ErrRejected
}

// faultError is the fault of element f: its faultcode and faultstring, in
// any namespace.
func (d *xdoc) faultError(f int32) error {
	var code, str string
	var haveCode, haveStr bool
	for c := range d.children(f) {
		switch n := d.nodes[c].local; {
		case n == "faultcode" && !haveCode:
			code, haveCode = d.text(c), true
		case n == "faultstring" && !haveStr:
			str, haveStr = d.text(c), true
		}
	}
	return &FaultError{Code: code, String: str}
}

// Fault returns a SOAP 1.1 fault envelope.
func Fault(code, msg string) []byte {
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	env := doc.CreateElement("soapenv:Envelope")
	env.CreateAttr("xmlns:soapenv", NSSoap)
	f := env.CreateElement("soapenv:Body").CreateElement("soapenv:Fault")
	f.CreateElement("faultcode").SetText(code)
	f.CreateElement("faultstring").SetText(msg)
	b, _ := doc.WriteToBytes()
	return b
}
