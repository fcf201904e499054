package web_test

import (
	"net/http/httptest"
	"testing"

	"github.com/obert-gov/obert/gateway/web"
)

func TestClientIP(t *testing.T) {
	p, err := web.ParseProxies("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.5:4000", "", "203.0.113.5"},
		// Not from a trusted proxy: its forwarding header is ignored.
		{"203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"10.1.2.3:4000", "198.51.100.1", "198.51.100.1"},
		{"192.0.2.7:4000", "198.51.100.1", "198.51.100.1"},
		// A client's own forged entry on the left is not believed.
		{"10.1.2.3:4000", "1.2.3.4, 198.51.100.1", "198.51.100.1"},
		// Through two trusted proxies.
		{"10.1.2.3:4000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"10.1.2.3:4000", "not an address", "10.1.2.3"},
		{"[::ffff:10.1.2.3]:4000", "198.51.100.1", "198.51.100.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := p.ClientIP(r).String(); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
	if _, err := web.ParseProxies("10.0.0.0/33"); err == nil {
		t.Error("a bad CIDR was accepted")
	}
}
