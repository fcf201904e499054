package scsp

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"time"

	"github.com/obert-gov/obert/connectors"
)

// Client sends signed SCSP requests to one endpoint and verifies the
// answers against the source's certificate.
type Client struct {
	Endpoint string
	HTTP     *http.Client
	Signer   Signer
	// Signers, when set, gives the signer at each request instead of
	// Signer: keys read from Vault, rotated without a restart.
	Signers func(ctx context.Context) (Signer, error)
	Source  []*x509.Certificate // certificates the answers must be signed with
	Now     func() time.Time
	// Poll bounds the asynchronous mode: when the source answers "in
	// process" (0002), the answer is asked for every Interval, at most Max
	// times (defaults 500 ms and 20), within the caller's deadline.
	Poll Poll
}

// Poll bounds the polling of asynchronous requests.
type Poll struct {
	Interval time.Duration
	Max      int
}

// Do sends p and returns the verified response. A response that is not
// signed by the source, that answers another request, or that reports an
// error state is an error wrapping a connectors sentinel. An asynchronous
// answer ("in process") is polled for, bounded by Poll and ctx.
func (c *Client) Do(ctx context.Context, p *Peticion) (*Respuesta, error) {
	env, err := c.Sign(ctx, p)
	if err != nil {
		return nil, err
	}
	return c.DoSigned(ctx, p, env)
}

// Sign marshals p and signs it: the envelope DoSigned sends.
func (c *Client) Sign(ctx context.Context, p *Peticion) ([]byte, error) {
	return c.sign(ctx, p)
}

// DoSigned is Do with p already signed as env (see Sign): what Do does
// after signing. Sent again, env is the same request.
func (c *Client) DoSigned(ctx context.Context, p *Peticion, env []byte) (*Respuesta, error) {
	r, err := c.post(ctx, env, "peticionSincrona", p.Atributos.IdPeticion)
	if err != nil {
		return nil, err
	}
	interval, max := c.Poll.Interval, c.Poll.Max
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	if max <= 0 {
		max = 20
	}
	for i := 0; r.Atributos.Estado != nil && r.Atributos.Estado.CodigoEstado == StatePending; i++ {
		// Still in process when the exchange stops waiting: the source
		// has the request, and asking again later gets the answer.
		if i >= max {
			return nil, &StatusError{StatePending, fmt.Sprintf("no answer after %d polls", max), connectors.ErrPending}
		}
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (%w)", &StatusError{StatePending, "no answer before the deadline", connectors.ErrPending}, ctx.Err())
		}
		poll := &SolicitudRespuesta{Atributos: Atributos{IdPeticion: p.Atributos.IdPeticion, NumElementos: p.Atributos.NumElementos,
			TimeStamp: c.now().UTC().Format("2006-01-02T15:04:05.000-07:00"), CodigoCertificado: p.Atributos.CodigoCertificado}}
		if r, err = c.send(ctx, poll, "solicitudRespuesta", p.Atributos.IdPeticion); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// send signs and posts one message and checks the signed answer.
func (c *Client) send(ctx context.Context, msg any, action, id string) (*Respuesta, error) {
	env, err := c.sign(ctx, msg)
	if err != nil {
		return nil, err
	}
	return c.post(ctx, env, action, id)
}

func (c *Client) sign(ctx context.Context, msg any) ([]byte, error) {
	signer := c.Signer
	if c.Signers != nil {
		var err error
		if signer, err = c.Signers(ctx); err != nil {
			return nil, fmt.Errorf("scsp: signing key: %w", err)
		}
	}
	if p, ok := msg.(*Peticion); ok {
		// A request's Body is written in canonical form from its fields.
		return signer.envelopePeticion(p, c.now())
	}
	body, err := xml.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("scsp: marshal: %w", err)
	}
	return signer.Envelope(body, c.now())
}

// post sends a signed envelope and checks the signed answer to id.
func (c *Client) post(ctx context.Context, env []byte, action, id string) (*Respuesta, error) {
	if connectors.Tracked(ctx) {
		// Whether the request may have reached the source: not until a
		// connection is made.
		connectors.Trying(ctx)
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connectors.MaySend(ctx) }})
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint, bytes.NewReader(env))
	if err != nil {
		return nil, fmt.Errorf("scsp: %w", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+action+`"`)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scsp: %w: %w", connectors.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := readBody(resp)
	if err != nil {
		return nil, fmt.Errorf("scsp: %w: %w", connectors.ErrUnavailable, err)
	}
	// A SOAP fault comes with HTTP 500; other non-2xx answers are outages.
	if resp.StatusCode >= 300 && !(resp.StatusCode == http.StatusInternalServerError && bytes.Contains(raw, []byte("Fault"))) {
		return nil, fmt.Errorf("scsp: %w: HTTP %d", connectors.ErrUnavailable, resp.StatusCode)
	}
	var r Respuesta
	if _, err := VerifyDecode(raw, c.Source, &r); err != nil {
		var fe *FaultError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", connectors.ErrBadResponse, err)
	}
	if r.Atributos.IdPeticion != id {
		return nil, fmt.Errorf("%w: answer to another request", ErrMalformed)
	}
	if r.Atributos.Estado != nil && r.Atributos.Estado.CodigoEstado == StatePending {
		return &r, nil
	}
	if err := StateError(r.Atributos.Estado); err != nil {
		return nil, err
	}
	return &r, nil
}

// NewHTTPClient is the HTTP client for one source: its own pool of
// keep-alive connections, sized for the exchanges that run at once (the
// default transport keeps 2 idle connections per host, so under load most
// requests would open a new connection, each a TLS handshake against the
// real Via Oberta), TLS 1.2 at least with session resumption, and timeout
// for a whole request.
//
// Its connections write and read through buffers of 16 KiB, a TLS record's
// most, instead of 4 KiB: a signed request (about 5 KiB) leaves in one
// write, headers and body together, so the source reads it whole instead
// of waking for its first 4 KiB and waiting for the rest; and an answer
// that has arrived is read in one call.
func NewHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	t.WriteBufferSize, t.ReadBufferSize = ioBuffer, ioBuffer
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(64)}
	return &http.Client{Timeout: timeout, Transport: t}
}

// ioBuffer is the size of a source connection's write and read buffers.
const ioBuffer = 16 << 10

// readBody reads an answer of at most MaxMessage+1 bytes, as io.ReadAll
// does but into a buffer of the size the source declared, when it declared
// one, instead of one grown from 512 bytes.
func readBody(resp *http.Response) ([]byte, error) {
	r := io.LimitReader(resp.Body, MaxMessage+1)
	size := 512
	if n := resp.ContentLength; n >= 0 && n <= MaxMessage {
		size = int(n) + 1 // one more, to meet the end without growing
	}
	b := make([]byte, 0, size)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}
