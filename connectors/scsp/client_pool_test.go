package scsp_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
