package sim_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/obert-gov/obert/catalogue"
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
	return newRigRemembering(t, requesterSigns, 0)
}

func newRigRemembering(t *testing.T, requesterSigns bool, remember time.Duration) rig {
	t.Helper()
	simKey, simCert, err := scsp.NewSelfSigned("via-oberta-sim", asOf)
	if err != nil {
		t.Fatal(err)
	}
	gwKey, gwCert, _ := scsp.NewSelfSigned("obert-gateway", asOf)
	otherKey, otherCert, _ := scsp.NewSelfSigned("intruder", asOf)
	pop := sim.NewPopulation(7, 1000, asOf)
	seed, err := catalogue.Seed()
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.NewServer(sim.Config{Population: pop, Key: simKey, Cert: simCert,
		Trusted: []*x509.Certificate{gwCert}, HeaderFaults: true, Latency: 200 * time.Millisecond, Remember: remember,
		Bases: seed.SCSPBases()})
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
		Titular: connectors.Titular{DocType: c.DocType, DocNumber: c.DocNumber, Name: c.Name, Surname1: c.Surname1},
		Requester: connectors.Requester{ID: "S0811001H", Name: "Departament de Drets Socials", Procedure: "OBERT-AJUTS",
			Officer: "Actuació administrativa automatitzada", OfficerNIF: "S0811001G", CaseID: "OBERT-AJUTS-1"},
		Purpose: "Recomanació d'ajuts socials", Consent: connectors.ConsentYes,
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
		func(q *connectors.Request) { q.Consent = "Maybe" },
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

// TestConsentimientoIsThePurposes: the source refuses a request whose
// Consentimiento is not its procedure's legal basis (a purpose on consent
// sent as Ley, a law's sent as Si), as a source checks a requester's
// authorisation, and answers the one that matches.
func TestConsentimientoIsThePurposes(t *testing.T) {
	r := newRig(t, true)
	c := r.pop.Citizens()[0]
	for _, x := range []struct {
		procedure string
		consent   connectors.ConsentKind
		ok        bool
	}{
		{"OBERT-AJUTS", connectors.ConsentYes, true},
		{"OBERT-AJUTS", connectors.ConsentLaw, false},
		{"OBERT-REPRESENTACIO", connectors.ConsentLaw, true},
		{"OBERT-REPRESENTACIO", connectors.ConsentYes, false},
		{"OBERT-EMPRESA", connectors.ConsentNoOpo, true},
		{"OBERT-EMPRESA", connectors.ConsentLaw, false},
	} {
		req := request(c)
		req.Requester.Procedure, req.Consent = x.procedure, x.consent
		_, err := r.conn.Fetch(context.Background(), req)
		var se *scsp.StatusError
		switch {
		case x.ok && err != nil:
			t.Errorf("%s with %s: %v", x.procedure, x.consent, err)
		case !x.ok && (!errors.As(err, &se) || se.Code != scsp.CodeBadRequest):
			t.Errorf("%s with %s: %v, want state %s", x.procedure, x.consent, err, scsp.CodeBadRequest)
		}
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

// TestRepresentationsAndEmployers: some citizens represent companies with
// valid CIFs, the population finds those companies, and some of those in
// work are public employees of an administration of the register.
func TestRepresentationsAndEmployers(t *testing.T) {
	p := sim.NewPopulation(42, 300, asOf)
	reps, employees := 0, 0
	for _, c := range p.Citizens() {
		for _, r := range c.Represents {
			reps++
			if !regexp.MustCompile(`^B[0-9]{8}$`).MatchString(r.Company.NIF) || r.Company.Name == "" {
				t.Fatalf("company %+v", r.Company)
			}
			if got, ok := p.Company(r.Company.NIF); !ok || got != r.Company {
				t.Fatalf("the population does not find %s", r.Company.NIF)
			}
		}
		if c.Employer != "" {
			employees++
			if !c.Employed || !slices.Contains(sim.Employers, c.Employer) {
				t.Fatalf("employee %+v", c)
			}
		}
	}
	if reps < 60 || reps > 160 || employees == 0 {
		t.Fatalf("%d representations, %d public employees among 300", reps, employees)
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
		if !reflect.DeepEqual(a[i], b[i]) {
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
	if c := sim.NewPopulation(43, 10, asOf).Citizens(); reflect.DeepEqual(c[0], a[0]) {
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

// connector returns a connector for one of the simulator's services.
func (r rig) connector(t *testing.T, path string, cat connectors.Category, svc scsp.Service) *scsp.Connector {
	t.Helper()
	base := r.conn.Client()
	client := &scsp.Client{Endpoint: r.url + path, HTTP: base.HTTP, Signer: base.Signer, Source: base.Source}
	c, err := scsp.NewConnector(scsp.ConnectorConfig{ID: string(cat) + "-aoc", Category: cat, Source: "src", Service: svc,
		Client: client, EmisorNIF: "Q0801175A", Emisor: "Consorci AOC"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestThreeSourcesAgree: for 1,000 synthetic people, what the census, tax
// and working-life services answer over signed SCSP fits each person's
// archetype and agrees across the three sources.
func TestThreeSourcesAgree(t *testing.T) {
	r := newRig(t, true)
	tax := r.connector(t, "/scsp/tax", connectors.Tax, scsp.Tax)
	emp := r.connector(t, "/scsp/employment", connectors.Employment, scsp.Employment)
	people := r.pop.Citizens()
	if len(people) < 1000 {
		t.Fatalf("population of %d", len(people))
	}
	step := 1
	if testing.Short() {
		step = 10
	}
	ctx := context.Background()
	for i := 0; i < len(people); i += step {
		c := people[i]
		cen, err := r.conn.Fetch(ctx, withFields(request(c), connectors.Census, scsp.CensusFields))
		if err != nil {
			t.Fatalf("%d census: %v", i, err)
		}
		tx, err := tax.Fetch(ctx, withFields(request(c), connectors.Tax, scsp.TaxFields))
		if err != nil {
			t.Fatalf("%d tax: %v", i, err)
		}
		em, err := emp.Fetch(ctx, withFields(request(c), connectors.Employment, scsp.EmploymentFields))
		if err != nil {
			t.Fatalf("%d employment: %v", i, err)
		}
		cv, tv, ev := cen.Values, tx.Values, em.Values
		if tv["income_annual"] != c.IncomeAnnual || tv["tax_compliant"] != c.TaxCompliant || tv["tax_year"] != asOf.Year()-1 {
			t.Fatalf("%d tax %v for %+v", i, tv, c)
		}
		if ev["employed"] != c.Employed || ev["months_worked_last_5y"] != c.MonthsWorkedLast5y {
			t.Fatalf("%d employment %v for %+v", i, ev, c)
		}
		// Across sources: someone working has no end-of-work date and has
		// contributed; a benefit goes with being out of work.
		if ev["employed"] == true && (ev["unemployed_since"] != "" || ev["months_worked_last_5y"].(int) == 0) {
			t.Fatalf("%d employed with %v", i, ev)
		}
		if ev["receives_unemployment_benefit"] == true && ev["employed"] == true {
			t.Fatalf("%d benefit while employed", i)
		}
		switch c.Archetype {
		case sim.OlderAlone:
			if cv["lives_alone"] != true || ev["employed"] != false || tv["income_annual"].(int) > 14_000 {
				t.Fatalf("%d older-alone: %v %v %v", i, cv, tv, ev)
			}
		case sim.SingleParent:
			if cv["minors_in_household"].(int) < 1 || cv["household_size"] != cv["minors_in_household"].(int)+1 {
				t.Fatalf("%d single-parent: %v", i, cv)
			}
		case sim.LongTermUnemployed:
			since, err := time.Parse(time.DateOnly, ev["unemployed_since"].(string))
			if err != nil || ev["employed"] != false || asOf.Sub(since) < 365*24*time.Hour {
				t.Fatalf("%d long-term unemployed: %v", i, ev)
			}
		case sim.YoungAtRisk:
			born, _ := time.Parse(time.DateOnly, cv["birth_date"].(string))
			if age := asOf.Year() - born.Year(); age < 17 || age > 31 || tv["income_annual"].(int) > 8_000 {
				t.Fatalf("%d young at risk: %v %v", i, cv, tv)
			}
		case sim.DependentHousehold:
			if cv["household_size"].(int) < 2 {
				t.Fatalf("%d dependent household: %v", i, cv)
			}
		}
	}
	// A service asked at another service's address refuses.
	wrong := r.connector(t, "/scsp/tax", connectors.Employment, scsp.Employment)
	if _, err := wrong.Fetch(ctx, withFields(request(people[0]), connectors.Employment, scsp.EmploymentFields)); !errors.Is(err, connectors.ErrRejected) {
		t.Fatalf("wrong service: %v", err)
	}
}

func withFields(req connectors.Request, cat connectors.Category, fields []string) connectors.Request {
	req.Category, req.Fields = cat, fields
	return req
}

// TestAsynchronousMode: the source answers "in process" first; the client
// polls with signed SolicitudRespuesta messages until the answer comes, and
// gives up after its bound.
func TestAsynchronousMode(t *testing.T) {
	r := newRig(t, true)
	c := r.pop.Citizens()[3]
	client := r.conn.Client()
	client.Poll = scsp.Poll{Interval: 5 * time.Millisecond, Max: 5}
	hc := *client.HTTP
	hc.Transport = headerTransport{"X-Sim-Async", "3"}
	client.HTTP = &hc
	f, err := r.conn.Fetch(context.Background(), request(c))
	if err != nil || f.Values["municipality"] != c.Municipality {
		t.Fatalf("asynchronous fetch: %v %v", f.Values, err)
	}
	if n := r.sim.Polls(); n != 3 {
		t.Fatalf("%d polls, want 3", n)
	}
	hc.Transport = headerTransport{"X-Sim-Async", "50"}
	// Past the poll bound the source is still at it: pending, with its
	// state code, for the citizen to be told to try again later.
	if _, err := r.conn.Fetch(context.Background(), request(c)); !errors.Is(err, connectors.ErrPending) || connectors.StateOf(err) != "0002" {
		t.Fatalf("past the poll bound: %v", err)
	}
}

type headerTransport struct{ k, v string }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(h.k, h.v)
	return http.DefaultTransport.RoundTrip(r)
}

// TestMemoryIsBounded: what the simulator keeps of requests goes after
// Remember, so a long run keeps flat memory.
func TestMemoryIsBounded(t *testing.T) {
	r := newRigRemembering(t, true, 300*time.Millisecond)
	c := r.pop.Citizens()[1]
	for range 3 {
		if _, err := r.conn.Fetch(context.Background(), request(c)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.sim.Received()); n != 3 {
		t.Fatalf("%d requests kept, want the 3 just made", n)
	}
	time.Sleep(400 * time.Millisecond)
	if _, err := r.conn.Fetch(context.Background(), request(c)); err != nil {
		t.Fatal(err)
	}
	if n := len(r.sim.Received()); n != 1 {
		t.Fatalf("%d requests kept, want only the one within the last 300 ms", n)
	}
}

// TestMinimisedQuestions: a question the census answers itself travels as
// a verification and its answer is all that comes back; one it does not
// (over 65; income and unemployment at the other sources) is answered by
// the connector from the full answer, of which nothing else is returned.
func TestMinimisedQuestions(t *testing.T) {
	r := newRig(t, true)
	ctx := context.Background()
	c := r.pop.Citizens()[3]

	req := request(c)
	req.Fields = []string{"resident_in_catalonia"}
	f, err := r.conn.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Values, map[string]any{"resident_in_catalonia": true}) {
		t.Fatalf("verification answer: %v", f.Values)
	}
	got := r.sim.Received()
	spec := got[len(got)-1].Solicitudes.SolicitudTransmision[0].DatosEspecificos
	if spec == nil || !strings.Contains(string(spec.Inner), "<Pregunta>resident_in_catalonia</Pregunta>") {
		t.Fatalf("the question did not travel as a verification: %+v", spec)
	}

	// A question the service does not verify is refused by the source if
	// sent as one...
	var unknown scsp.Peticion
	if p, err := r.conn.Build(req); err != nil {
		t.Fatal(err)
	} else {
		unknown = *p
	}
	unknown.Atributos.IdPeticion = "REQ-UNKNOWN"
	unknown.Solicitudes.SolicitudTransmision[0].DatosEspecificos = &scsp.Raw{Inner: []byte(
		`<Verificacio xmlns="` + scsp.NSCensus + `"><Pregunta>birth_date</Pregunta></Verificacio>`)}
	if _, err := r.conn.Client().Do(ctx, &unknown); connectors.StateOf(err) != scsp.CodeBadRequest {
		t.Fatalf("an unknown verification: %v", err)
	}
	// ...so the connector answers it from the full answer.
	req.RequestID, req.Fields = "REQ-65-"+c.DocNumber, []string{"over_65", "household_size"}
	f, err = r.conn.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	over65 := !c.BirthDate.AddDate(65, 0, 0).After(f.FetchedAt)
	if !reflect.DeepEqual(f.Values, map[string]any{"over_65": over65, "household_size": c.HouseholdSize}) {
		t.Fatalf("over 65 and household: %v (born %s)", f.Values, c.BirthDate.Format(time.DateOnly))
	}
	if spec := r.sim.Received()[len(r.sim.Received())-1].Solicitudes.SolicitudTransmision[0].DatosEspecificos; spec != nil {
		t.Fatalf("a question the census does not verify travelled as one: %s", spec.Inner)
	}

	tax := r.connector(t, "/scsp/tax", connectors.Tax, scsp.Tax)
	treq := request(c)
	treq.Category, treq.RequestID, treq.Fields = connectors.Tax, "REQ-TAX-"+c.DocNumber, []string{"income_below_twice_iprem"}
	if f, err = tax.Fetch(ctx, treq); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Values, map[string]any{"income_below_twice_iprem": c.IncomeAnnual < 2*connectors.IPREMAnnual}) {
		t.Fatalf("income question: %v (income %d)", f.Values, c.IncomeAnnual)
	}
	emp := r.connector(t, "/scsp/employment", connectors.Employment, scsp.Employment)
	ereq := request(c)
	ereq.Category, ereq.RequestID, ereq.Fields = connectors.Employment, "REQ-EMP-"+c.DocNumber, []string{"registered_unemployed"}
	if f, err = emp.Fetch(ctx, ereq); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Values, map[string]any{"registered_unemployed": !c.Employed && !c.UnemployedSince.IsZero()}) {
		t.Fatalf("unemployment question: %v", f.Values)
	}
}
