package exchange_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
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
// and stored. x-slowest is the total time as a multiple of the slowest
// source (50 ms); the goal is ≤ 1.1.
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
	var conns []connectors.Connector
	for _, c := range []struct {
		cat    connectors.Category
		source string
		svc    scsp.Service
	}{{connectors.Census, "padro-municipal", scsp.Census}, {connectors.Tax, "aeat", scsp.Tax}, {connectors.Employment, "tgss", scsp.Employment}} {
		conn, err := scsp.NewConnector(scsp.ConnectorConfig{ID: string(c.cat), Category: c.cat, Source: c.source, Service: c.svc,
			EmisorNIF: "Q0801175A", Emisor: "AOC", Client: &scsp.Client{Endpoint: srv.URL + "/scsp/" + string(c.cat), HTTP: httpc,
				Signer: scsp.Signer{Key: key, Cert: cert}, Source: []*x509.Certificate{simCert}}})
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, connectors.Resilient(conn, connectors.Policy{Timeout: time.Second}))
	}
	k, _ := keys.New(bytes.Repeat([]byte{5}, 32))
	ex, err := exchange.New(exchange.Config{Connectors: conns, Consents: cs, Guard: guard, Audit: &faultyRecorder{log: log, failAt: map[int]bool{}}, Facts: st, Sealer: k,
		Requester: connectors.Requester{ID: "gencat-drets-socials", Name: "Drets Socials"},
		Purposes:  map[string]exchange.Purpose{"aid-recommendation": {Finalidad: "Recomanació d'ajuts", Procedure: "OBERT-AJUTS"}},
		Deadline:  3 * time.Second})
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
	start := time.Now()
	for range b.N {
		check()
	}
	b.ReportMetric(float64(time.Since(start))/float64(b.N)/float64(latency), "x-slowest")
}
