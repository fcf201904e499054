package scsp_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors/scsp"
)

// TestHTTPClientKeepsConnections: a source's client reuses its connections
// when exchanges run at once, where the default transport (2 idle
// connections per host) opens new ones round after round.
func TestHTTPClientKeepsConnections(t *testing.T) {
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(5 * time.Millisecond)
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	rounds := func(c *http.Client) int32 {
		opened.Store(0)
		for range 5 {
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					resp, err := c.Get(srv.URL)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				})
			}
			wg.Wait()
		}
		return opened.Load()
	}
	if n := rounds(scsp.NewHTTPClient(5 * time.Second)); n > 16 {
		t.Errorf("a source's client opened %d connections for 5 rounds of 16 requests at once, want at most 16", n)
	}
	if n := rounds(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}); n <= 16 {
		t.Logf("the default transport opened only %d connections here", n)
	}
}

// TestHTTPClientWritesARequestAtOnce: a signed request of the usual size
// leaves a source's client in one write, headers and body together, so
// the source is not woken for part of it; the default transport writes it
// in two.
func TestHTTPClientWritesARequestAtOnce(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	body := strings.Repeat("<x>signed</x>", 6<<10/13) // about 6 KiB, as a signed SCSP request
	writes := func(c *http.Client) int32 {
		var n atomic.Int32
		tr := c.Transport.(*http.Transport)
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			return countingConn{conn, &n}, err
		}
		resp, err := c.Post(srv.URL, "text/xml", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return n.Load()
	}
	if n := writes(scsp.NewHTTPClient(5 * time.Second)); n != 1 {
		t.Errorf("a source's client wrote a request of %d bytes in %d writes, want 1", len(body), n)
	}
	if n := writes(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}); n < 2 {
		t.Logf("the default transport wrote it in %d", n)
	}
}

// countingConn counts its writes.
type countingConn struct {
	net.Conn
	n *atomic.Int32
}

func (c countingConn) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(b)
}
