package scsp

import (
	"context"
	"encoding/xml"
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
}

// Census is the census (padró) service.
var Census = typed[CensusData](ServiceCensus, CensusFields)

// typed is a service whose specific data decodes into T, which turns itself
// into canonical facts (schema version 1).
func typed[T interface {
	Values() (map[string]any, error)
}](code string, fields []string) Service {
	return Service{Code: code, Fields: fields, SchemaVersion: 1, Values: func(raw []byte) (map[string]any, error) {
		var d T
		if err := xml.Unmarshal(raw, &d); err != nil {
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
		Service: c.cfg.Service.Code, Fields: slices.Clone(c.cfg.Service.Fields)}
}

// Fetch implements connectors.Connector. Purpose and consent travel exactly
// as the gateway decided them; a request without them is refused here, before
// anything leaves.
func (c *Connector) Fetch(ctx context.Context, req connectors.Request) (connectors.Facts, error) {
	p, err := c.Build(req)
	if err != nil {
		return connectors.Facts{}, err
	}
	r, err := c.cfg.Client.Do(ctx, p)
	if err != nil {
		return connectors.Facts{}, err
	}
	if len(r.Transmisiones.TransmisionDatos) != 1 || r.Transmisiones.TransmisionDatos[0].DatosEspecificos == nil {
		return connectors.Facts{}, fmt.Errorf("%w: want one transmission with specific data", ErrMalformed)
	}
	raw := r.Transmisiones.TransmisionDatos[0].DatosEspecificos.Inner
	vals, err := c.cfg.Service.Values(raw)
	if err != nil {
		return connectors.Facts{}, err
	}
	kept := map[string]any{}
	for _, f := range req.Fields {
		if v, ok := vals[f]; ok {
			kept[f] = v
		}
	}
	return connectors.Facts{Category: c.cfg.Category, SchemaVersion: c.cfg.Service.SchemaVersion,
		Source: c.cfg.Source, RequestID: req.RequestID, FetchedAt: c.cfg.Now().UTC(), Values: kept}, nil
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
