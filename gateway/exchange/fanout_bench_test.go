package exchange_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/store/storetest"
	"github.com/obert-gov/obert/policy"
)

// BenchmarkFanOut: one "fetch my data" for a citizen who consented to all
// three categories, against the simulator answering each service after
// 50 ms: consent lookups, three guard decisions, six audit entries, three
// signed SCSP round trips in parallel, three verified answers, facts sealed
// and stored in one transaction.
//
// x-slowest is the exchange's total time as a multiple of its slowest
// connector's: each connector's Fetch (signing, the round trip, verifying
// the answer) is timed inside the same exchange, and the ratio is the sum
// of the totals over the sum of the slowest Fetch of each; the goal is
// ≤ 1.05. x-source is the total as a multiple of the source's 50 ms, which
// also counts the connectors' own signing and verifying.
// BenchmarkConnectorsOnly is the floor of x-source: the three connectors
// alone, in parallel, with nothing of the gateway around them.
func BenchmarkFanOut(b *testing.B) {
	const latency = 50 * time.Millisecond
	ctx := context.Background()
	st := storetest.OpenSQLite(b)
	offers, _ := consent.DefaultOffers()
	cs, err := consent.NewService(st, offers)
	if err != nil {
		b.Fatal(err)
	}
	guard, err := policy.NewGuard(ctx)
	if err != nil {
		b.Fatal(err)
	}
	log, _, _ := audittest.NewLog(b, st)
	now := time.Now()
	pop := sim.NewPopulation(7, 10, now)
	var conns []connectors.Connector
	var slowest maxDuration // of the current exchange's Fetches
	for _, c := range fanOutConnectors(b, pop, latency, now) {
		conns = append(conns, &timed{Connector: connectors.Resilient(c, connectors.Policy{Timeout: time.Second}), slot: &slowest})
	}
	k, _ := keys.New(bytes.Repeat([]byte{5}, 32))
	ex, err := exchange.New(exchange.Config{Connectors: conns, Consents: cs, Guard: guard, Audit: &faultyRecorder{log: log, failAt: map[int]bool{}}, Facts: st, Sealer: k,
		Requester: connectors.Requester{ID: "gencat-drets-socials", Name: "Drets Socials"},
		Purposes: map[string]exchange.Purpose{"aid-recommendation": {Finalidad: "Recomanació d'ajuts", Procedure: "OBERT-AJUTS",
			AutomatedAction: "Actuació administrativa automatitzada OBERT-AJUTS"}},
		Deadline: 3 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	p := pop.Citizens()[2]
	c := exchange.Citizen{Subject: k.Subject(p.DocNumber), LoA: "substantial", Titular: connectors.Titular{DocType: p.DocType,
		DocNumber: p.DocNumber, Name: p.Name, Surname1: p.Surname1}}
	for _, cat := range []string{"census", "tax", "employment"} {
		o, _ := cs.Offer(cat, "aid-recommendation")
		if _, err := cs.Grant(ctx, c.Subject, cat, "aid-recommendation", o.TextVersion, "ca"); err != nil {
			b.Fatal(err)
		}
	}
	check := func() {
		for _, r := range ex.FetchAll(ctx, c, "aid-recommendation") {
			if r.Status != exchange.StatusOK {
				b.Fatalf("%s: %s %s", r.Category, r.Status, r.Reason)
			}
		}
	}
	check() // warm connections and the policy engine
	b.ReportAllocs()
	b.ResetTimer()
	var total, connector time.Duration
	for range b.N {
		slowest.reset()
		start := time.Now()
		check()
		total += time.Since(start)
		connector += slowest.get()
	}
	b.ReportMetric(float64(total)/float64(connector), "x-slowest")
	b.ReportMetric(float64(total)/float64(b.N)/float64(latency), "x-source")
}

// timed is a connector whose Fetch durations are kept in slot (the
// longest).
type timed struct {
	connectors.Connector
	slot *maxDuration
}

func (t *timed) Fetch(ctx context.Context, req connectors.Request) (connectors.Facts, error) {
	start := time.Now()
	f, err := t.Connector.Fetch(ctx, req)
	t.slot.observe(time.Since(start))
	return f, err
}

// Prepare implements connectors.Preparer, as the gateway's connectors do:
// the connector's own time is its signing and its sending, apart.
func (t *timed) Prepare(ctx context.Context, req connectors.Request) (connectors.Prepared, error) {
	start := time.Now()
	p, err := connectors.Prepare(ctx, t.Connector, req)
	if err != nil {
		return nil, err
	}
	signing := time.Since(start)
	return connectors.SendFunc(func(ctx context.Context) (connectors.Facts, error) {
		start := time.Now()
		f, err := p.Send(ctx)
		t.slot.observe(signing + time.Since(start))
		return f, err
	}), nil
}

func (t *timed) Describe() connectors.Description {
	return t.Connector.(connectors.Describer).Describe()
}

// maxDuration is the longest of the durations observed since reset.
type maxDuration struct {
	mu sync.Mutex
	d  time.Duration
}

func (m *maxDuration) observe(d time.Duration) {
	m.mu.Lock()
	m.d = max(m.d, d)
	m.mu.Unlock()
}

func (m *maxDuration) reset() { m.mu.Lock(); m.d = 0; m.mu.Unlock() }

func (m *maxDuration) get() time.Duration { m.mu.Lock(); defer m.mu.Unlock(); return m.d }

// BenchmarkConnectorsOnly: the three connectors of BenchmarkFanOut called
// in parallel with nothing of the gateway around them (no consent, guard,
// audit log or store), against the same simulator. Its x-source is the
// floor of BenchmarkFanOut's on this machine: signing, the round trips and
// verifying share the processors with the simulator.
func BenchmarkConnectorsOnly(b *testing.B) {
	const latency = 50 * time.Millisecond
	now := time.Now()
	pop := sim.NewPopulation(7, 10, now)
	conns := fanOutConnectors(b, pop, latency, now)
	p := pop.Citizens()[2]
	ctx := context.Background()
	n := 0
	once := func() {
		n++
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() {
				_, err := c.Fetch(ctx, connectors.Request{RequestID: fmt.Sprintf("r%d-%s", n, c.Category()), Category: c.Category(),
					Titular: connectors.Titular{DocType: p.DocType, DocNumber: p.DocNumber, Name: p.Name, Surname1: p.Surname1},
					Requester: connectors.Requester{ID: "gencat-drets-socials", Name: "Drets Socials", Procedure: "OBERT-AJUTS",
						Officer: "Actuació administrativa automatitzada OBERT-AJUTS", OfficerNIF: "S0811001G", CaseID: "OBERT-AJUTS-1"},
					Purpose: "Recomanació d'ajuts", Consent: connectors.ConsentYes})
				if err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
	}
	once() // warm the connections
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		once()
	}
	b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(latency), "x-source")
}

// fanOutConnectors starts the simulator for pop, answering after latency,
// and returns a census, a tax and an employment connector to it.
func fanOutConnectors(b *testing.B, pop *sim.Population, latency time.Duration, now time.Time) []connectors.Connector {
	key, cert, _ := scsp.NewSelfSigned("bench gateway", now)
	simKey, simCert, _ := scsp.NewSelfSigned("bench simulator", now)
	s, err := sim.NewServer(sim.Config{Population: pop, Key: simKey, Cert: simCert, Trusted: []*x509.Certificate{cert}, Latency: latency})
	if err != nil {
		b.Fatal(err)
	}
	s.SetFault(sim.FaultLatency)
	srv := httptest.NewServer(s)
	b.Cleanup(srv.Close)
	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	signer, err := scsp.NewSigner(key, cert, scsp.RSAAuto) // as gatewayd signs
	if err != nil {
		b.Fatal(err)
	}
	return scspConnectors(b, srv.URL, httpc, signer, simCert, sources)
}
