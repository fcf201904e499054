package gateway_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// pgProxy stands between a gateway and PostgreSQL, so that a test can make
// the database refuse connections and come back, as an outage would.
type pgProxy struct {
	t      *testing.T
	addr   string // where the gateway connects
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	p := &pgProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *pgProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// down cuts every connection and refuses new ones.
func (p *pgProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// up accepts connections again, on the same address.
func (p *pgProxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

func waitStatus(t testing.TB, u string, want int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return time.Since(start)
			}
		}
		if time.Since(start) > within {
			t.Fatalf("%s did not answer %d within %v", u, want, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestChaosDatabaseOutage: PostgreSQL refuses connections. Readiness turns
// red within 2 s; a signed-in citizen gets a 503 page that says they are
// still signed in (not the home page, as if signed out), and nothing they
// sent is done; when the database is back, the same session goes on
// without a restart.
func TestChaosDatabaseOutage(t *testing.T) {
	if storetest.PostgresURL() == "" {
		t.Skip("OBERT_TEST_POSTGRES not set")
	}
	u, _ := storetest.SchemaURL(t, storetest.PostgresURL())
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newPGProxy(t, pu.Host)
	pu.Host = proxy.addr
	q := pu.Query()
	q.Set("connect_timeout", "2")
	pu.RawQuery = q.Encode()
	d := startDev(t, "-database", pu.String())

	c := d.citizenOf(t, "older-alone")
	user := newUser(t)
	user.get(d.URL + "/lang/en?return=/")
	user.signIn(d.URL, c)
	user.get(d.URL + "/folder/consent")
	csrf, version := user.hidden("csrf"), user.hidden("version.census.aid-recommendation")

	proxy.down()
	took := waitStatus(t, d.URL+"/readyz", http.StatusServiceUnavailable, 5*time.Second)
	if took > 2*time.Second+500*time.Millisecond {
		t.Errorf("readiness turned red after %v, want within 2 s", took)
	}
	if s := user.get(d.URL + "/folder"); s != http.StatusServiceUnavailable || !strings.Contains(user.page, "still signed in") {
		t.Fatalf("a signed-in page during the outage: %d at %s", s, user.url)
	}
	if s := user.post(d.URL+"/folder/consent", url.Values{"csrf": {csrf}, "grant": {"census.aid-recommendation"},
		"version.census.aid-recommendation": {version}}); s != http.StatusServiceUnavailable {
		t.Fatalf("a consent sent during the outage: %d at %s", s, user.url)
	}

	proxy.up()
	waitStatus(t, d.URL+"/readyz", http.StatusOK, 30*time.Second)
	if s := user.get(d.URL + "/folder/consent"); s != http.StatusOK || strings.Contains(user.url, "return=") {
		t.Fatalf("after the outage the session was lost: %d at %s", s, user.url)
	}
	if strings.Contains(user.page, "/withdraw") {
		t.Fatal("the consent sent during the outage was granted")
	}
	user.grant(d.URL, "census.aid-recommendation")
	if s := user.fetchData(d.URL); s != http.StatusOK || !strings.Contains(user.page, "r-census") {
		t.Fatalf("fetch after the outage: %d", s)
	}
}

// TestChaosAuditLockHeld: another session holds the audit log's sequencing
// lock. Readiness turns red within 2 s, since nothing could be committed,
// and green again once it is released.
func TestChaosAuditLockHeld(t *testing.T) {
	if storetest.PostgresURL() == "" {
		t.Skip("OBERT_TEST_POSTGRES not set")
	}
	u, _ := storetest.SchemaURL(t, storetest.PostgresURL())
	d := startDev(t, "-database", u)
	waitStatus(t, d.URL+"/readyz", http.StatusOK, 10*time.Second)

	other, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.DB().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_lock($1)`, int64(store.AuditLockKey)); err != nil {
		t.Fatal(err)
	}
	took := waitStatus(t, d.URL+"/readyz", http.StatusServiceUnavailable, 5*time.Second)
	if took > 2*time.Second+500*time.Millisecond {
		t.Errorf("readiness turned red after %v, want within 2 s", took)
	}
	if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(store.AuditLockKey)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, d.URL+"/readyz", http.StatusOK, 10*time.Second)
}
