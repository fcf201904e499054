package sim_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
)

var asOf = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

type rig struct {
	sim  *sim.Server
	conn *scsp.Connector
	pop  *sim.Population
	url  string
}

func newRig(t *testing.T, requesterSigns bool) rig {
	t.Helper()
	simKey, simCert, err := scsp.NewSelfSigned("via-oberta-sim", asOf)
	if err != nil {
		t.Fatal(err)
	}
	gwKey, gwCert, _ := scsp.NewSelfSigned("obert-gateway", asOf)
	otherKey, otherCert, _ := scsp.NewSelfSigned("intruder", asOf)
	pop := sim.NewPopulation(7, 1000, asOf)
	s, err := sim.NewServer(sim.Config{Population: pop, Key: simKey, Cert: simCert,
		Trusted: []*x509.Certificate{gwCert}, HeaderFaults: true, Latency: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	signer := scsp.Signer{Key: gwKey, Cert: gwCert}
	if !requesterSigns {
		signer = scsp.Signer{Key: otherKey, Cert: otherCert}
	}
	client := &scsp.Client{Endpoint: ts.URL + "/scsp/census", HTTP: ts.Client(), Signer: signer, Source: []*x509.Certificate{simCert}}
	conn, err := scsp.NewConnector(scsp.ConnectorConfig{ID: "census-aoc", Category: connectors.Census,
		Source: "padro-municipal", Service: scsp.Census, Client: client, EmisorNIF: "Q0801175A", Emisor: "Consorci AOC"})
	if err != nil {
		t.Fatal(err)
	}
	return rig{sim: s, conn: conn, pop: pop, url: ts.URL}
}

func request(c sim.Citizen) connectors.Request {
	return connectors.Request{
		RequestID: "REQ-" + c.DocNumber, Category: connectors.Census,
		Titular:   connectors.Titular{DocType: c.DocType, DocNumber: c.DocNumber, Name: c.Name, Surname1: c.Surname1},
		Requester: connectors.Requester{ID: "S0811001H", Name: "Departament de Drets Socials", Procedure: "OBERT-AJUTS"},
		Purpose:   "Recomanació d'ajuts socials", Consent: connectors.ConsentYes,
		Fields: []string{"municipality", "household_size", "minors_in_household", "lives_alone"},
	}
}

func TestCensusRoundTrip(t *testing.T) {
	r := newRig(t, true)
	c := r.pop.Citizens()[1]
	f, err := r.conn.Fetch(context.Background(), request(c))
	if err != nil {
		t.Fatal(err)
	}
	if f.Values["municipality"] != c.Municipality || f.Values["household_size"] != c.HouseholdSize ||
		f.Values["minors_in_household"] != c.Minors || f.Values["lives_alone"] != (c.HouseholdSize == 1) {
		t.Fatalf("facts %v do not match the citizen %+v", f.Values, c)
	}
	if _, ok := f.Values["birth_date"]; ok {
		t.Fatal("a field that was not released came back")
	}
	got := r.sim.Received()
	if len(got) != 1 {
		t.Fatalf("simulator received %d requests", len(got))
	}
	sol := got[0].Solicitudes.SolicitudTransmision[0].DatosGenericos.Solicitante
	if sol.Finalidad != "Recomanació d'ajuts socials" || sol.Consentimiento != "Si" || sol.IdentificadorSolicitante != "S0811001H" {
		t.Fatalf("purpose and consent did not travel as given: %+v", sol)
	}
}

func TestConsentAndPurposeNeverDefaulted(t *testing.T) {
	r := newRig(t, true)
	c := r.pop.Citizens()[0]
	for _, mut := range []func(*connectors.Request){
		func(q *connectors.Request) { q.Purpose = "" },
		func(q *connectors.Request) { q.Consent = "" },
		func(q *connectors.Request) { q.Consent = "NoOpo" },
	} {
		q := request(c)
		mut(&q)
		if _, err := r.conn.Fetch(context.Background(), q); err == nil {
			t.Fatalf("request %+v was sent", q)
		}
	}
	if n := len(r.sim.Received()); n != 0 {
		t.Fatalf("%d refused requests reached the source", n)
	}
}

func TestUnknownCitizenIsNotFound(t *testing.T) {
	r := newRig(t, true)
	q := request(sim.Citizen{DocType: "NIF", DocNumber: "00000000T", Name: "Ningú"})
	if _, err := r.conn.Fetch(context.Background(), q); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("unknown citizen: %v", err)
	}
}

func TestSimRejectsUntrustedSignature(t *testing.T) {
	r := newRig(t, false)
	_, err := r.conn.Fetch(context.Background(), request(r.pop.Citizens()[0]))
	var fe *scsp.FaultError
	if !errors.As(err, &fe) || !errors.Is(err, connectors.ErrRejected) {
		t.Fatalf("untrusted requester: %v", err)
	}
	// An unsigned request is refused too.
	resp, err := http.Post(r.url+"/scsp/census", "text/xml", strings.NewReader(
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><x/></soapenv:Body></soapenv:Envelope>`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || len(r.sim.Received()) != 0 {
		t.Fatalf("unsigned request: HTTP %d, %d accepted", resp.StatusCode, len(r.sim.Received()))
	}
}

func TestInjectedFaults(t *testing.T) {
	r := newRig(t, true)
	c := r.pop.Citizens()[2]
	cases := map[string]error{
		sim.FaultHTTP503:   connectors.ErrUnavailable,
		sim.FaultSOAP:      connectors.ErrUnavailable,
		sim.FaultSignature: connectors.ErrBadResponse,
		sim.FaultMalformed: connectors.ErrBadResponse,
		sim.FaultTimeout:   context.DeadlineExceeded,
	}
	for fault, want := range cases {
		r.sim.SetFault(fault)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := r.conn.Fetch(ctx, request(c))
		cancel()
		if !errors.Is(err, want) {
			t.Errorf("fault %s: got %v, want %v", fault, err, want)
		}
	}
	r.sim.SetFault(sim.FaultLatency)
	start := time.Now()
	if _, err := r.conn.Fetch(context.Background(), request(c)); err != nil || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("latency fault: %v after %v", err, time.Since(start))
	}
	r.sim.SetFault(sim.FaultNone)
	if _, err := r.conn.Fetch(context.Background(), request(c)); err != nil {
		t.Fatalf("after faults: %v", err)
	}
}

func TestPopulationIsDeterministicAndSpansArchetypes(t *testing.T) {
	a := sim.NewPopulation(42, 1000, asOf).Citizens()
	b := sim.NewPopulation(42, 1000, asOf).Citizens()
	if len(a) != 1000 {
		t.Fatalf("population of %d", len(a))
	}
	seen := map[string]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("citizen %d differs between two runs with one seed", i)
		}
		seen[a[i].Archetype]++
		c := a[i]
		if c.Minors+c.Over65 > c.HouseholdSize || c.HouseholdSize < 1 {
			t.Fatalf("inconsistent household: %+v", c)
		}
		if c.Archetype == sim.OlderAlone && (c.HouseholdSize != 1 || asOf.Sub(c.BirthDate) < 65*365*24*time.Hour) {
			t.Fatalf("older-alone citizen is not older or not alone: %+v", c)
		}
		if !validDoc(c.DocType, c.DocNumber) {
			t.Fatalf("invalid %s %s", c.DocType, c.DocNumber)
		}
	}
	for _, arch := range sim.Archetypes {
		if seen[arch] < 150 {
			t.Fatalf("archetype %s has only %d citizens", arch, seen[arch])
		}
	}
	if c := sim.NewPopulation(43, 10, asOf).Citizens(); c[0] == a[0] {
		t.Fatal("another seed gave the same first citizen")
	}
}

func validDoc(kind, doc string) bool {
	if len(doc) != 9 {
		return false
	}
	digits := doc[:8]
	if kind == "NIE" {
		p := strings.IndexByte("XYZ", doc[0])
		if p < 0 {
			return false
		}
		digits = string(rune('0'+p)) + doc[1:8]
	}
	n := 0
	for _, ch := range digits {
		if ch < '0' || ch > '9' {
			return false
		}
		n = n*10 + int(ch-'0')
	}
	return doc[8] == sim.NIFLetter(n)
}
