package scsp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/obert-gov/obert/connectors"
)

// Service maps one SCSP service's specific data to canonical facts.
type Service struct {
	Code          string   // CodigoCertificado
	Fields        []string // fields it can release
	SchemaVersion int
	// Values decodes DatosEspecificos into canonical fact values.
	Values func(raw []byte) (map[string]any, error)
	// Asks are the answer fields of the questions (connectors.Questions)
	// the service answers itself, as a verification: a request for those
	// alone carries Ask's specific data and the answer carries nothing
	// else, decoded by Answers.
	Asks    []string
	Ask     func(fields []string) ([]byte, error)
	Answers func(raw []byte) (map[string]any, error)
	// Period, for a service with periods (tax years), is the request's
	// specific data asking for one.
	Period func(year int) ([]byte, error)
}

// Released lists every field the service can release: its own and the
// answers to the questions of category it answers or that its fields
// decide.
func (s Service) Released(category connectors.Category) []string {
	out := slices.Clone(s.Fields)
	for _, f := range connectors.Answerable(category, s.Fields, s.Asks) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// verifies reports whether fields are all questions the service answers
// itself.
func (s Service) verifies(fields []string) bool {
	return len(fields) > 0 && s.Ask != nil && s.Answers != nil &&
		!slices.ContainsFunc(fields, func(f string) bool { return !slices.Contains(s.Asks, f) })
}

// Census is the census (padró) service.
var Census = func() Service {
	s := typed[CensusData](ServiceCensus, CensusFields)
	s.Asks, s.Ask, s.Answers = []string{"resident_in_catalonia"}, askCensus, censusAnswers
	return s
}()

// typed is a service whose specific data decodes into T, which turns itself
// into canonical facts (schema version 1).
func typed[T interface {
	Values() (map[string]any, error)
}](code string, fields []string) Service {
	return Service{Code: code, Fields: fields, SchemaVersion: 1, Values: func(raw []byte) (map[string]any, error) {
		var d T
		if err := decodeData(raw, &d); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return d.Values()
	}}
}

// ConnectorConfig configures a Connector.
type ConnectorConfig struct {
	ID        string
	Category  connectors.Category
	Source    string // source administration code
	Service   Service
	Client    *Client
	EmisorNIF string
	Emisor    string
	Now       func() time.Time
}

// Connector fetches one category over SCSP v3.
type Connector struct{ cfg ConnectorConfig }

var (
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Describer = (*Connector)(nil)
)

// NewConnector returns a connector for cfg.
func NewConnector(cfg ConnectorConfig) (*Connector, error) {
	if cfg.ID == "" || cfg.Category == "" || cfg.Client == nil || cfg.Service.Values == nil {
		return nil, fmt.Errorf("scsp: connector needs an id, a category, a client and a service")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Connector{cfg: cfg}, nil
}

// Category implements connectors.Connector.
func (c *Connector) Category() connectors.Category { return c.cfg.Category }

// Describe implements connectors.Describer.
func (c *Connector) Describe() connectors.Description {
	return connectors.Description{ID: c.cfg.ID, Category: c.cfg.Category, Source: c.cfg.Source,
		Service: c.cfg.Service.Code, Fields: c.cfg.Service.Released(c.cfg.Category)}
}

// Fetch implements connectors.Connector. Purpose and consent travel exactly
// as the gateway decided them; a request without them is refused here, before
// anything leaves.
func (c *Connector) Fetch(ctx context.Context, req connectors.Request) (connectors.Facts, error) {
	p, err := c.Prepare(ctx, req)
	if err != nil {
		return connectors.Facts{}, err
	}
	return p.Send(ctx)
}

// Prepare implements connectors.Preparer: the request is built and signed
// now, and leaves only when sent.
func (c *Connector) Prepare(ctx context.Context, req connectors.Request) (connectors.Prepared, error) {
	p, err := c.Build(req)
	if err != nil {
		return nil, err
	}
	// A period asked for, and questions alone that the service answers
	// itself, travel in the request's specific data; otherwise the
	// answers are made here from the full answer, and only what was asked
	// for is kept.
	decode := c.cfg.Service.Values
	if req.Period != 0 {
		if c.cfg.Service.Period == nil {
			return nil, fmt.Errorf("scsp: %s has no periods to ask for", c.cfg.Service.Code)
		}
		inner, err := c.cfg.Service.Period(req.Period)
		if err != nil {
			return nil, err
		}
		p.Solicitudes.SolicitudTransmision[0].DatosEspecificos = &Raw{Inner: inner}
	}
	if c.cfg.Service.verifies(req.Fields) {
		inner, err := c.cfg.Service.Ask(req.Fields)
		if err != nil {
			return nil, err
		}
		p.Solicitudes.SolicitudTransmision[0].DatosEspecificos = &Raw{Inner: inner}
		decode = c.cfg.Service.Answers
	}
	env, err := c.cfg.Client.Sign(ctx, p)
	if err != nil {
		return nil, err
	}
	return connectors.SendFunc(func(ctx context.Context) (connectors.Facts, error) {
		r, err := c.cfg.Client.DoSigned(ctx, p, env)
		if err != nil {
			return connectors.Facts{}, err
		}
		if len(r.Transmisiones.TransmisionDatos) != 1 || r.Transmisiones.TransmisionDatos[0].DatosEspecificos == nil {
			return connectors.Facts{}, fmt.Errorf("%w: want one transmission with specific data", ErrMalformed)
		}
		vals, err := decode(r.Transmisiones.TransmisionDatos[0].DatosEspecificos.Inner)
		if err != nil {
			return connectors.Facts{}, err
		}
		now := c.cfg.Now().UTC()
		return connectors.Facts{Category: c.cfg.Category, SchemaVersion: c.cfg.Service.SchemaVersion,
			Source: c.cfg.Source, RequestID: req.RequestID, FetchedAt: now,
			Values: connectors.Minimise(vals, req.Fields, now)}, nil
	}), nil
}

// Build turns an authorised request into an SCSP Peticion.
func (c *Connector) Build(req connectors.Request) (*Peticion, error) {
	switch {
	case req.RequestID == "":
		return nil, fmt.Errorf("scsp: request without IdPeticion")
	case strings.TrimSpace(req.Purpose) == "":
		return nil, fmt.Errorf("scsp: request without Finalidad")
	case req.Consent != connectors.ConsentYes && req.Consent != connectors.ConsentLaw && req.Consent != connectors.ConsentNoOpo:
		return nil, fmt.Errorf("scsp: Consentimiento must be Si, Ley or NoOpo, got %q", req.Consent)
	case req.Titular.DocNumber == "":
		return nil, fmt.Errorf("scsp: request without Titular")
	case strings.TrimSpace(req.Requester.Officer) == "" || req.Requester.OfficerNIF == "":
		return nil, fmt.Errorf("scsp: request without the official or automated action that makes it")
	case req.Requester.CaseID == "":
		return nil, fmt.Errorf("scsp: request without IdExpediente")
	}
	now := c.cfg.Now().UTC()
	var p Peticion
	p.Atributos = Atributos{IdPeticion: req.RequestID, NumElementos: 1,
		TimeStamp: now.Format("2006-01-02T15:04:05.000-07:00"), CodigoCertificado: c.cfg.Service.Code}
	var s SolicitudTransmision
	g := &s.DatosGenericos
	g.Emisor.NifEmisor, g.Emisor.NombreEmisor = c.cfg.EmisorNIF, c.cfg.Emisor
	g.Solicitante = Solicitante{IdentificadorSolicitante: req.Requester.ID, NombreSolicitante: req.Requester.Name,
		UnidadTramitadora: req.Requester.Unit, Finalidad: req.Purpose, Consentimiento: string(req.Consent),
		IdExpediente: req.Requester.CaseID}
	g.Solicitante.Procedimiento.CodProcedimiento = req.Requester.Procedure
	g.Solicitante.Funcionario.NombreCompletoFuncionario = req.Requester.Officer
	g.Solicitante.Funcionario.NifFuncionario = req.Requester.OfficerNIF
	t := req.Titular
	g.Titular = Titular{TipoDocumentacion: t.DocType, Documentacion: t.DocNumber, Nombre: t.Name,
		Apellido1: t.Surname1, Apellido2: t.Surname2,
		NombreCompleto: strings.TrimSpace(strings.Join([]string{t.Name, t.Surname1, t.Surname2}, " "))}
	g.Transmision = Transmision{CodigoCertificado: c.cfg.Service.Code, IdSolicitud: req.RequestID + "-1",
		FechaGeneracion: now.Format(time.RFC3339)}
	p.Solicitudes.SolicitudTransmision = []SolicitudTransmision{s}
	return &p, nil
}

// Client is the SCSP client the connector sends its requests with.
func (c *Connector) Client() *Client { return c.cfg.Client }
