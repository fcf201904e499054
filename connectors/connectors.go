// Package connectors defines how Obert fetches one data category about one
// citizen from the administration that holds it, and the canonical facts
// every connector returns.
//
// It owns the Connector interface, the registry of connector constructors and
// the resilience wrappers (timeouts, circuit breaker, idempotent retries). It
// must never import net/http handlers of the gateway, SQL drivers, or the
// consent, policy and audit packages: the gateway decides and records; a
// connector only fetches.
package connectors

import (
	"context"
	"errors"
	"time"
)

// Category is a data category a connector serves, such as "census".
type Category string

// The categories Obert knows from the start. Registered connectors may
// declare others.
const (
	Census     Category = "census"
	Tax        Category = "tax"
	Employment Category = "employment"
	// Representation is the companies a person may act for (the register
	// of representations); Company a company's own data, fetched by one
	// who acts for it.
	Representation Category = "representation"
	Company        Category = "company"
)

// ConsentKind is the SCSP Consentimiento value that travels with a request:
// "Si" when the citizen consented, "Ley" when a law allows the consultation.
type ConsentKind string

const (
	ConsentYes ConsentKind = "Si"
	ConsentLaw ConsentKind = "Ley"
	// ConsentNoOpo: a law allows it unless the citizen objected, and they
	// did not.
	ConsentNoOpo ConsentKind = "NoOpo"
)

// Titular identifies the citizen the request is about.
type Titular struct {
	DocType   string // "NIF" or "NIE"
	DocNumber string
	Name      string
	Surname1  string
	Surname2  string
}

// Requester is the administration (and procedure) on whose behalf Obert asks.
type Requester struct {
	ID        string // IdentificadorSolicitante (NIF of the requesting body)
	Name      string // NombreSolicitante
	Unit      string // UnidadTramitadora
	Procedure string // Procedimiento code
	Officer   string // Funcionario: the official's name, or the automated action's
	// OfficerNIF is NifFuncionario: the official's, or for an automated
	// action the body's.
	OfficerNIF string
	CaseID     string // IdExpediente
}

// StateCoder is a source's refusal that carries the state code the
// source answered (SCSP CodigoEstado, e.g. 0233).
type StateCoder interface{ StateCode() string }

// StateOf is the state code err carries, or "".
func StateOf(err error) string {
	var sc StateCoder
	if errors.As(err, &sc) {
		return sc.StateCode()
	}
	return ""
}

// Request is one authorised fetch: everything a connector needs, and nothing
// it should decide by itself. Purpose and Consent come from the consent
// record and the purpose catalogue, never from defaults.
type Request struct {
	RequestID string // IdPeticion; the same id makes a retry idempotent
	Category  Category
	Titular   Titular
	Requester Requester
	Purpose   string      // Finalidad
	Consent   ConsentKind // Consentimiento
	Fields    []string    // the minimal field set the policy released
	// Period is the period (tax year) asked about, for a source with
	// periods; 0: its default (the last).
	Period int
}

// Facts are the canonical, versioned facts of one category about one citizen.
// Values holds only the fields the policy released.
type Facts struct {
	Category      Category
	SchemaVersion int
	Source        string // source administration code
	RequestID     string
	FetchedAt     time.Time
	Values        map[string]any
}

// Connector fetches one category for one subject under one authorisation.
type Connector interface {
	Category() Category
	// Fetch performs the request. It must honour ctx's deadline.
	Fetch(ctx context.Context, req Request) (Facts, error)
}

// Preparer is an optional capability: the connector builds and signs the
// request before it may leave, so that the signature's cost overlaps the
// commit of the exchange's intent. Nothing leaves until Send.
type Preparer interface {
	Prepare(ctx context.Context, req Request) (Prepared, error)
}

// Prepared is a request ready to go. Send sends it; sent again (a retry),
// it is the same signed request, with the same IdPeticion.
type Prepared interface {
	Send(ctx context.Context) (Facts, error)
}

// SendFunc is a function as a Prepared.
type SendFunc func(ctx context.Context) (Facts, error)

// Send implements Prepared.
func (f SendFunc) Send(ctx context.Context) (Facts, error) { return f(ctx) }

// Prepare prepares req with c when c can, or returns a Prepared that
// fetches it with c when sent.
func Prepare(ctx context.Context, c Connector, req Request) (Prepared, error) {
	if p, ok := c.(Preparer); ok {
		return p.Prepare(ctx, req)
	}
	return SendFunc(func(ctx context.Context) (Facts, error) { return c.Fetch(ctx, req) }), nil
}

// Describer is an optional capability: the connector names the administration
// that holds the data and the fields it can release.
type Describer interface {
	Describe() Description
}

// Description is what the gateway and the policy know about a connector.
type Description struct {
	ID       string
	Category Category
	Source   string // source administration code
	Service  string // SCSP CodigoCertificado
	Fields   []string
}

// Errors a connector returns, wrapped with %w and with the source's detail.
var (
	ErrNotFound    = errors.New("connectors: no record for this person at the source")
	ErrUnavailable = errors.New("connectors: source unavailable")
	ErrRejected    = errors.New("connectors: source rejected the request")
	ErrBadResponse = errors.New("connectors: malformed or unverifiable response")
	// ErrPending is a source still processing the request when the
	// exchange stopped waiting (SCSP 0002).
	ErrPending = errors.New("connectors: the source is still processing the request")
)
