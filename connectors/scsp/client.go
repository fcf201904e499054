package scsp

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/obert-gov/obert/connectors"
)

// Client sends signed SCSP requests to one endpoint and verifies the
// answers against the source's certificate.
type Client struct {
	Endpoint string
	HTTP     *http.Client
	Signer   Signer
	Source   []*x509.Certificate // certificates the answers must be signed with
	Now      func() time.Time
}

// Do sends p and returns the verified response. A response that is not
// signed by the source, that answers another request, or that reports an
// error state is an error wrapping a connectors sentinel.
func (c *Client) Do(ctx context.Context, p *Peticion) (*Respuesta, error) {
	body, err := xml.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("scsp: marshal: %w", err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	env, err := c.Signer.Envelope(body, now())
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(env))
	if err != nil {
		return nil, fmt.Errorf("scsp: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"peticionSincrona"`)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scsp: %w: %w", connectors.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("scsp: %w: %w", connectors.ErrUnavailable, err)
	}
	// A SOAP fault comes with HTTP 500; other non-2xx answers are outages.
	if resp.StatusCode >= 300 && !(resp.StatusCode == http.StatusInternalServerError && bytes.Contains(raw, []byte("Fault"))) {
		return nil, fmt.Errorf("scsp: %w: HTTP %d", connectors.ErrUnavailable, resp.StatusCode)
	}
	el, _, err := Verify(raw, c.Source)
	if err != nil {
		var fe *FaultError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", connectors.ErrBadResponse, err)
	}
	var r Respuesta
	if err := UnmarshalElement(el, &r); err != nil {
		return nil, err
	}
	if r.Atributos.IdPeticion != p.Atributos.IdPeticion {
		return nil, fmt.Errorf("%w: answer to another request", ErrMalformed)
	}
	if err := StateError(r.Atributos.Estado); err != nil {
		return nil, err
	}
	return &r, nil
}
