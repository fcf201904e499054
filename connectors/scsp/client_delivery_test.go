package scsp

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors"
)

// TestDeliveryReported: the client says a request did not reach the
// source only when no connection was made; once one was, the request
// counts as received, whatever came back, on this attempt or a later one.
func TestDeliveryReported(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer unavailable.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	defer close(release)

	post := func(ctx context.Context, endpoint string) bool {
		ctx, d := connectors.WithDelivery(ctx)
		c := &Client{Endpoint: endpoint, HTTP: &http.Client{}}
		if _, err := c.post(ctx, []byte("<x/>"), "peticionSincrona", "id"); err == nil {
			t.Fatalf("%s: no error", endpoint)
		}
		return d.NotSent()
	}
	if !post(context.Background(), refused) {
		t.Error("a refused connection counts as received")
	}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if !post(gone, unavailable.URL) {
		t.Error("a request whose context had ended counts as received")
	}
	if post(context.Background(), unavailable.URL) {
		t.Error("a request the source answered 503 counts as not sent")
	}
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if post(short, slow.URL) {
		t.Error("a request the source held past the deadline counts as not sent")
	}
	// A later attempt that cannot connect does not undo an earlier one
	// that did.
	ctx, d := connectors.WithDelivery(context.Background())
	for _, endpoint := range []string{unavailable.URL, refused} {
		(&Client{Endpoint: endpoint, HTTP: &http.Client{}}).post(ctx, []byte("<x/>"), "peticionSincrona", "id")
	}
	if d.NotSent() {
		t.Error("a retry that could not connect undid the attempt that did")
	}
}
