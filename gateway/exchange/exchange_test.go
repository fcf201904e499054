package exchange_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
	"github.com/obert-gov/obert/policy"
)

// rig is a real exchange: the embedded OPA guard, the consent service and
// the audit log on SQLite, and the SCSP census connector talking to the Via
// Oberta simulator over loopback. Only failures are injected, by wrapping.
type rig struct {
	ex       *exchange.Exchanger
	consents *consent.Service
	store    *store.Store
	log      *audit.Log
	sim      *sim.Server
	hits     *atomic.Int32 // HTTP requests that reached the simulator
	citizen  exchange.Citizen
	rec      *faultyRecorder
}

type faultyRecorder struct {
	log    *audit.Log
	mu     sync.Mutex
	calls  int
	failAt map[int]bool // 1-based call numbers that fail
	kinds  []string     // kinds of committed entries
	// batches are the kinds of the entries of each RecordAll call, and
	// sentBefore how many requests had reached the source by then.
	batches    [][]string
	hits       *atomic.Int32
	sentBefore []int32
}

// RecordAll is one call, committed as one batch or not at all.
func (f *faultyRecorder) RecordAll(ctx context.Context, entries []audit.Entry) error {
	if f.fail() {
		return errors.New("audit log unavailable")
	}
	if _, err := f.log.AppendAll(ctx, entries); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Category+":"+e.Kind+"/"+e.Outcome)
		f.kinds = append(f.kinds, e.Kind+"/"+e.Outcome)
	}
	f.batches = append(f.batches, kinds)
	if f.hits != nil {
		f.sentBefore = append(f.sentBefore, f.hits.Load())
	}
	return nil
}

// fail counts a call and reports whether it is one that fails.
func (f *faultyRecorder) fail() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.failAt[f.calls]
}

func (f *faultyRecorder) Record(ctx context.Context, e audit.Entry) error {
	if f.fail() {
		return errors.New("audit log unavailable")
	}
	if _, err := f.log.Append(ctx, e); err != nil {
		return err
	}
	f.mu.Lock()
	f.kinds = append(f.kinds, e.Kind+"/"+e.Outcome)
	f.mu.Unlock()
	return nil
}

type options struct {
	consents exchange.Consents
	guard    policy.Decider
	failAt   []int
	// all registers tax and employment connectors beside census.
	all bool
	// hold, when set, keeps every request at the source until it is
	// closed.
	hold chan struct{}
	// unreachable points the connectors at an address where nothing
	// listens: no request can reach the source.
	unreachable bool
	// start is the exchanger's Start.
	start func(ctx context.Context, subject, purpose string) (map[string]consent.Grant, error)
}

func newRig(t *testing.T, o options) *rig {
	t.Helper()
	ctx := context.Background()
	st := storetest.OpenSQLite(t)
	now := time.Now()
	offers, err := consent.DefaultOffers()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := consent.NewService(st, offers)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := policy.NewGuard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	log, _, _ := audittest.NewLog(t, st)
	pop := sim.NewPopulation(7, 10, now)
	key, cert, _ := scsp.NewSelfSigned("exchange test gateway", now)
	simKey, simCert, _ := scsp.NewSelfSigned("exchange test simulator", now)
	s, err := sim.NewServer(sim.Config{Population: pop, Key: simKey, Cert: simCert, Trusted: []*x509.Certificate{cert}, Latency: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hits := &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if o.hold != nil {
			<-o.hold
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	srcs := sources[:1] // census
	if o.all {
		srcs = sources
	}
	url := srv.URL
	if o.unreachable {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url = "http://" + l.Addr().String()
		l.Close()
	}
	conns := scspConnectors(t, url, &http.Client{Timeout: 2 * time.Second}, scsp.Signer{Key: key, Cert: cert}, simCert, srcs)
	k, _ := keys.New(bytes.Repeat([]byte{5}, 32))
	rec := &faultyRecorder{log: log, failAt: map[int]bool{}, hits: hits}
	for _, n := range o.failAt {
		rec.failAt[n] = true
	}
	var consents exchange.Consents = cs
	if o.consents != nil {
		consents = o.consents
	}
	var decider policy.Decider = guard
	if o.guard != nil {
		decider = o.guard
	}
	ex, err := exchange.New(exchange.Config{Connectors: conns, Consents: consents, Guard: decider,
		Audit: rec, Facts: st, Sealer: k, Requester: connectors.Requester{ID: "gencat-drets-socials", Name: "Drets Socials"},
		Purposes: map[string]exchange.Purpose{"aid-recommendation": {Finalidad: "Recomanació d'ajuts", Procedure: "OBERT-AJUTS",
			AutomatedAction: "Actuació administrativa automatitzada OBERT-AJUTS"}},
		Deadline: 3 * time.Second, Start: o.start})
	if err != nil {
		t.Fatal(err)
	}
	c := pop.Citizens()[0]
	sub := k.Subject(c.DocNumber)
	return &rig{ex: ex, consents: cs, store: st, log: log, sim: s, hits: hits, rec: rec,
		citizen: exchange.Citizen{Subject: sub, LoA: "substantial", Titular: connectors.Titular{DocType: c.DocType,
			DocNumber: c.DocNumber, Name: c.Name, Surname1: c.Surname1, Surname2: c.Surname2}}}
}

// source is a category the simulator serves, who holds it and its service.
type source struct {
	cat    connectors.Category
	holder string
	svc    scsp.Service
}

// sources are the simulator's three categories.
var sources = []source{{connectors.Census, "padro-municipal", scsp.Census}, {connectors.Tax, "aeat", scsp.Tax}, {connectors.Employment, "tgss", scsp.Employment}}

// scspConnectors returns a connector "<category>-viaoberta" for each of
// srcs to the simulator at url, signing with signer and trusting the
// simulator's certificate.
func scspConnectors(tb testing.TB, url string, httpc *http.Client, signer scsp.Signer, simCert *x509.Certificate, srcs []source) []connectors.Connector {
	tb.Helper()
	var conns []connectors.Connector
	for _, c := range srcs {
		conn, err := scsp.NewConnector(scsp.ConnectorConfig{ID: string(c.cat) + "-viaoberta", Category: c.cat,
			Source: c.holder, Service: c.svc, EmisorNIF: "Q0801175A", Emisor: "AOC",
			Client: &scsp.Client{Endpoint: url + "/scsp/" + string(c.cat), HTTP: httpc,
				Signer: signer, Source: []*x509.Certificate{simCert}}})
		if err != nil {
			tb.Fatal(err)
		}
		conns = append(conns, conn)
	}
	return conns
}

func (r *rig) grant(t *testing.T) consent.Grant {
	t.Helper()
	return r.grantFor(t, "census")
}

func (r *rig) grantFor(t *testing.T, category string) consent.Grant {
	t.Helper()
	o, ok := r.consents.Offer(category, "aid-recommendation")
	if !ok {
		t.Fatalf("no %s offer", category)
	}
	g, err := r.consents.Grant(context.Background(), r.citizen.Subject, category, "aid-recommendation", o.TextVersion, "ca")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestFetchAllDecidesThenCommitsThenSends: every category is decided, the
// intents and the refusal are committed in one batch before any request
// leaves, and then each allowed request goes out and its outcome follows.
func TestFetchAllDecidesThenCommitsThenSends(t *testing.T) {
	r := newRig(t, options{all: true})
	r.grantFor(t, "census")
	r.grantFor(t, "tax")
	rs := r.ex.FetchAll(context.Background(), r.citizen, "aid-recommendation")
	got := map[string]exchange.Status{}
	for _, res := range rs {
		got[res.Category] = res.Status
	}
	if got["census"] != exchange.StatusOK || got["tax"] != exchange.StatusOK || got["employment"] != exchange.StatusNoConsent {
		t.Fatalf("results %v", got)
	}
	if len(r.rec.batches) != 1 || r.rec.sentBefore[0] != 0 {
		t.Fatalf("batches %v, requests before the first %v", r.rec.batches, r.rec.sentBefore)
	}
	want := []string{"census:exchange.intent/pending", "tax:exchange.intent/pending", "employment:exchange.intent/denied"}
	if !slices.Equal(r.rec.batches[0], want) {
		t.Fatalf("batch %v, want %v", r.rec.batches[0], want)
	}
	if n := r.hits.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	outcomes := 0
	for _, k := range r.rec.kinds {
		if k == "exchange.outcome/ok" {
			outcomes++
		}
	}
	if outcomes != 2 {
		t.Fatalf("committed %v", r.rec.kinds)
	}
}

// TestFetchAllAuditDownNothingLeaves: when the batch of intents cannot be
// committed, no request leaves for any category and nothing is kept.
func TestFetchAllAuditDownNothingLeaves(t *testing.T) {
	r := newRig(t, options{all: true, failAt: []int{1}})
	for _, cat := range []string{"census", "tax", "employment"} {
		r.grantFor(t, cat)
	}
	for _, res := range r.ex.FetchAll(context.Background(), r.citizen, "aid-recommendation") {
		if res.Status != exchange.StatusAuditUnavailable || res.Facts != nil {
			t.Errorf("%s: %+v, want audit-unavailable", res.Category, res)
		}
	}
	if n := r.hits.Load(); n != 0 {
		t.Fatalf("%d requests left without a committed intent", n)
	}
	if r.factsStored() {
		t.Fatal("facts kept")
	}
}

func (r *rig) fetch() exchange.Result {
	return r.ex.Fetch(context.Background(), r.citizen, "census", "aid-recommendation")
}

func (r *rig) factsStored() bool {
	_, err := r.store.GetFacts(context.Background(), r.citizen.Subject, "census", "aid-recommendation", time.Now())
	return err == nil
}

func TestConsentedExchangeIsAuditedBeforeAndAfter(t *testing.T) {
	r := newRig(t, options{})
	g := r.grant(t)
	res := r.fetch()
	if res.Status != exchange.StatusOK || res.Facts["municipality"] == nil {
		t.Fatalf("result %+v", res)
	}
	if r.hits.Load() != 1 {
		t.Fatalf("%d requests reached Via Oberta, want 1", r.hits.Load())
	}
	if got := r.rec.kinds; len(got) != 2 || got[0] != "exchange.intent/pending" || got[1] != "exchange.outcome/ok" {
		t.Fatalf("audit entries %v, want intent then outcome", got)
	}
	es, err := r.log.EntriesOf(context.Background(), r.citizen.Subject, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var intent, outcome audit.Entry
	for _, e := range es {
		switch e.Kind {
		case audit.KindExchangeIntent:
			intent = e.Entry
		case audit.KindExchangeOutcome:
			outcome = e.Entry
		}
	}
	sent := r.sim.Received()[0].Atributos.IdPeticion
	if intent.RequestID != sent || outcome.IntentID != intent.ID || intent.ConsentID != g.ID || len(intent.Fields) == 0 || intent.DecisionID == "" {
		t.Fatalf("entries do not tie the request %q to its consent and decision:\nintent %+v\noutcome %+v", sent, intent, outcome)
	}
	if !r.factsStored() {
		t.Fatal("facts not kept")
	}
	used, err := r.ex.Use(context.Background(), r.citizen, "aid-recommendation")
	if err != nil || used["census"]["municipality"] != res.Facts["municipality"] {
		t.Fatalf("use: %v, %v", used, err)
	}
}

func TestNoConsentNothingLeaves(t *testing.T) {
	r := newRig(t, options{})
	if res := r.fetch(); res.Status != exchange.StatusNoConsent {
		t.Fatalf("status %s, want no-consent", res.Status)
	}
	if r.hits.Load() != 0 {
		t.Fatal("a request left without consent")
	}
	if got := r.rec.kinds; len(got) != 1 || got[0] != "exchange.intent/denied" {
		t.Fatalf("the refusal is not recorded: %v", got)
	}
}

func TestWithdrawnConsentNothingLeaves(t *testing.T) {
	r := newRig(t, options{})
	g := r.grant(t)
	if _, err := r.consents.Withdraw(context.Background(), r.citizen.Subject, g.ID); err != nil {
		t.Fatal(err)
	}
	if res := r.fetch(); res.Status != exchange.StatusNoConsent || r.hits.Load() != 0 {
		t.Fatalf("after withdrawal: %s, %d requests", res.Status, r.hits.Load())
	}
}

func TestAuditDownNothingLeaves(t *testing.T) {
	r := newRig(t, options{failAt: []int{1}})
	r.grant(t)
	if res := r.fetch(); res.Status != exchange.StatusAuditUnavailable {
		t.Fatalf("status %s, want audit-unavailable", res.Status)
	}
	if r.hits.Load() != 0 {
		t.Fatal("a request left without a committed intent entry")
	}
	if r.factsStored() {
		t.Fatal("facts kept")
	}
}

func TestOutcomeNotRecordedFactsDropped(t *testing.T) {
	r := newRig(t, options{failAt: []int{2}})
	r.grant(t)
	res := r.fetch()
	if res.Status != exchange.StatusAuditUnavailable || res.Facts != nil {
		t.Fatalf("result %+v, want audit-unavailable without facts", res)
	}
	if r.factsStored() {
		t.Fatal("facts kept without a committed outcome entry")
	}
}

// countingConsents counts the lookups that reach the consent service.
type countingConsents struct {
	exchange.Consents
	calls atomic.Int32
}

func (c *countingConsents) ActiveAll(ctx context.Context, subject, purpose string, cats []string) (map[string]consent.Grant, error) {
	c.calls.Add(1)
	return c.Consents.ActiveAll(ctx, subject, purpose, cats)
}

// TestStartReadsOnceAndDecidesAsBefore: with Start, a fetch's grants come
// from its one read (here the store's statement that also gives the
// catalogue's version), the consent service is not asked again, and every
// category is decided, committed and sent as with the two reads.
func TestStartReadsOnceAndDecidesAsBefore(t *testing.T) {
	run := func(withStart bool) (map[string]exchange.Status, [][]string, int32, int32, int) {
		var r *rig
		counting := &countingConsents{}
		var versions []int64
		o := options{all: true, consents: counting}
		if withStart {
			o.start = func(ctx context.Context, subject, purpose string) (map[string]consent.Grant, error) {
				grants, v, err := r.store.ActiveGrantsAndCatalogue(ctx, subject, purpose, time.Now())
				versions = append(versions, v)
				return grants, err
			}
		}
		r = newRig(t, o)
		counting.Consents = r.consents
		r.grantFor(t, "census")
		r.grantFor(t, "tax")
		got := map[string]exchange.Status{}
		for _, res := range r.ex.FetchAll(context.Background(), r.citizen, "aid-recommendation") {
			got[res.Category] = res.Status
		}
		return got, r.rec.batches, counting.calls.Load(), r.hits.Load(), len(versions)
	}
	before, beforeBatches, beforeLookups, beforeHits, _ := run(false)
	after, afterBatches, afterLookups, afterHits, reads := run(true)
	if beforeLookups != 1 || afterLookups != 0 || reads != 1 {
		t.Fatalf("consent lookups %d without Start, %d with it; Start read %d times", beforeLookups, afterLookups, reads)
	}
	if !maps.Equal(before, after) || after["census"] != exchange.StatusOK || after["employment"] != exchange.StatusNoConsent {
		t.Fatalf("results %v with Start, %v without", after, before)
	}
	if !slices.EqualFunc(beforeBatches, afterBatches, slices.Equal) || beforeHits != afterHits {
		t.Fatalf("audit batches %v and %d requests with Start, %v and %d without", afterBatches, afterHits, beforeBatches, beforeHits)
	}
}

// TestStartFailureNothingLeaves: when a fetch's first read fails, no
// category is decided, recorded or asked for.
func TestStartFailureNothingLeaves(t *testing.T) {
	r := newRig(t, options{all: true, start: func(context.Context, string, string) (map[string]consent.Grant, error) {
		return nil, errors.New("database is down")
	}})
	for _, cat := range []string{"census", "tax"} {
		r.grantFor(t, cat)
	}
	rs := r.ex.FetchAll(context.Background(), r.citizen, "aid-recommendation")
	if len(rs) != 3 {
		t.Fatalf("%d results for three categories", len(rs))
	}
	for _, res := range append(rs, r.fetch()) {
		if res.Status != exchange.StatusFailed || res.Reason != "catalogue-unavailable" {
			t.Errorf("%s: %+v, want catalogue-unavailable", res.Category, res)
		}
	}
	if r.hits.Load() != 0 || len(r.rec.batches) != 0 || r.rec.calls != 0 {
		t.Fatalf("%d requests and %d audit calls after a failed first read", r.hits.Load(), r.rec.calls)
	}
}

// TestStartComesBeforeTheCategories: what Start brings into effect (here a
// connector the catalogue added) is what the fetch uses.
func TestStartComesBeforeTheCategories(t *testing.T) {
	var r *rig
	var tax []connectors.Connector
	r = newRig(t, options{start: func(ctx context.Context, subject, purpose string) (map[string]consent.Grant, error) {
		if tax != nil {
			r.ex.Register(tax[0])
			tax = nil
		}
		grants, _, err := r.store.ActiveGrantsAndCatalogue(ctx, subject, purpose, time.Now())
		return grants, err
	}})
	key, cert, _ := scsp.NewSelfSigned("exchange test gateway", time.Now())
	// Pointed where nothing listens: that tax has a result at all shows
	// the fetch knew its connector.
	tax = scspConnectors(t, "http://127.0.0.1:1", &http.Client{Timeout: time.Second}, scsp.Signer{Key: key, Cert: cert}, cert, sources[1:2])
	r.grantFor(t, "census")
	r.grantFor(t, "tax")
	got := map[string]exchange.Status{}
	for _, res := range r.ex.FetchAll(context.Background(), r.citizen, "aid-recommendation") {
		got[res.Category] = res.Status
	}
	if _, ok := got["tax"]; !ok || got["census"] != exchange.StatusOK {
		t.Fatalf("results %v: the connector Start registered was not used", got)
	}
}

type brokenConsents struct{}

func (brokenConsents) Active(context.Context, string, string, string) (consent.Grant, error) {
	return consent.Grant{}, errors.New("database is down")
}

func (brokenConsents) ActiveAll(context.Context, string, string, []string) (map[string]consent.Grant, error) {
	return nil, errors.New("database is down")
}

func TestConsentLookupFailureNothingLeaves(t *testing.T) {
	r := newRig(t, options{consents: brokenConsents{}})
	if res := r.fetch(); res.Status != exchange.StatusFailed || res.Reason != "consent-unavailable" {
		t.Fatalf("result %+v", res)
	}
	if r.hits.Load() != 0 {
		t.Fatal("a request left without a consent lookup")
	}
}

type brokenGuard struct{}

func (brokenGuard) Decide(context.Context, policy.Input) (policy.Decision, error) {
	return policy.Decision{}, policy.ErrEvaluation
}

type denyAll struct{}

func (denyAll) Decide(_ context.Context, in policy.Input) (policy.Decision, error) {
	return policy.Decision{ID: "d", Allow: false, Fields: in.RequestedField}, nil
}

func TestPolicyFailureNothingLeaves(t *testing.T) {
	for name, g := range map[string]policy.Decider{"engine error": brokenGuard{}, "deny": denyAll{}} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, options{guard: g})
			r.grant(t)
			if res := r.fetch(); res.Status != exchange.StatusDenied {
				t.Fatalf("status %s, want denied", res.Status)
			}
			if r.hits.Load() != 0 {
				t.Fatal("a request left without an allow decision")
			}
		})
	}
}

func TestSourceFaultsAreRecordedAndNothingKept(t *testing.T) {
	for fault, reason := range map[string]string{
		sim.FaultHTTP503:   "source-unavailable",
		sim.FaultSOAP:      "source-unavailable",
		sim.FaultSignature: "source-bad-response",
		sim.FaultMalformed: "source-bad-response",
		sim.FaultTimeout:   "source-unavailable",
	} {
		t.Run(fault, func(t *testing.T) {
			r := newRig(t, options{})
			r.grant(t)
			r.sim.SetFault(fault)
			res := r.fetch()
			if res.Status != exchange.StatusFailed || res.Reason != reason || res.Facts != nil {
				t.Fatalf("result %+v, want failed/%s without facts", res, reason)
			}
			if r.factsStored() {
				t.Fatal("facts kept from a failed exchange")
			}
			if got := r.rec.kinds; len(got) != 2 || got[1] != "exchange.outcome/error" {
				t.Fatalf("audit %v, want the error recorded", got)
			}
		})
	}
}

// TestWithdrawalRacesExchanges: many exchanges race one withdrawal. Once the
// withdrawal has committed, no exchange that starts afterwards gets data,
// and the facts fetched before it can no longer be used.
func TestWithdrawalRacesExchanges(t *testing.T) {
	r := newRig(t, options{})
	g := r.grant(t)
	var (
		withdrawn atomic.Int64 // monotonic ns since t0 when Withdraw returned; 0 before
		t0        = time.Now()
		leaked    atomic.Int32
		ok        atomic.Int32
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	for range 12 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				started := time.Since(t0).Nanoseconds()
				res := r.fetch()
				if res.Status == exchange.StatusOK {
					ok.Add(1)
					if w := withdrawn.Load(); w != 0 && started > w {
						leaked.Add(1)
					}
				}
			}
		})
	}
	// Withdraw once exchanges succeed (a loaded machine may take longer
	// than any fixed wait), with more of them in flight.
	for deadline := time.Now().Add(10 * time.Second); ok.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(30 * time.Millisecond)
	if _, err := r.consents.Withdraw(context.Background(), r.citizen.Subject, g.ID); err != nil {
		t.Fatal(err)
	}
	withdrawn.Store(time.Since(t0).Nanoseconds())
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if ok.Load() == 0 {
		t.Fatal("no exchange succeeded before the withdrawal: the race was not exercised")
	}
	if leaked.Load() != 0 {
		t.Fatalf("%d exchanges that started after the withdrawal committed got data", leaked.Load())
	}
	if used, _ := r.ex.Use(context.Background(), r.citizen, "aid-recommendation"); used["census"] != nil {
		t.Fatal("facts of a withdrawn consent are still usable")
	}
	t.Logf("%d exchanges succeeded before the withdrawal, none after", ok.Load())
}

// TestWithdrawalKeepsNothingInFlight: exchanges in flight when a
// withdrawal commits (and its facts are deleted, as the gateway does) store
// nothing afterwards, whatever they fetched.
func TestWithdrawalKeepsNothingInFlight(t *testing.T) {
	ctx := context.Background()
	for round := range 3 {
		r := newRig(t, options{})
		g := r.grant(t)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var ok atomic.Int32
		for range 12 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if r.fetch().Status == exchange.StatusOK {
						ok.Add(1)
					}
				}
			})
		}
		// Withdraw once exchanges succeed, with more of them in flight.
		for deadline := time.Now().Add(10 * time.Second); ok.Load() == 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(30 * time.Millisecond)
		if _, err := r.consents.Withdraw(ctx, r.citizen.Subject, g.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := r.store.DeleteFactsOfGrant(ctx, r.citizen.Subject, g.ID); err != nil {
			t.Fatal(err)
		}
		close(stop) // those in flight finish; none starts
		wg.Wait()
		if ok.Load() == 0 {
			t.Fatal("no exchange succeeded before the withdrawal: the race was not exercised")
		}
		if r.factsStored() {
			t.Fatalf("round %d: facts of a withdrawn grant were stored by an exchange in flight", round)
		}
	}
}

// TestWithdrawnInFlightIsNotShown: the facts of one fetch are kept in one
// transaction once every answer is in. A grant withdrawn while its request
// was out has its answer neither kept nor shown, and says so; the other
// categories of the same fetch are kept and shown.
func TestWithdrawnInFlightIsNotShown(t *testing.T) {
	ctx := context.Background()
	hold := make(chan struct{})
	r := newRig(t, options{all: true, hold: hold})
	r.grantFor(t, "census")
	tax := r.grantFor(t, "tax")
	r.grantFor(t, "employment")
	done := make(chan []exchange.Result, 1)
	go func() { done <- r.ex.FetchAll(ctx, r.citizen, "aid-recommendation") }()
	// The source holds the three requests: withdraw, then let it answer.
	for deadline := time.Now().Add(5 * time.Second); r.hits.Load() < 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(hold)
			t.Fatal("the requests did not leave")
		}
	}
	if _, err := r.consents.Withdraw(ctx, r.citizen.Subject, tax.ID); err != nil {
		close(hold)
		t.Fatal(err)
	}
	close(hold)
	for _, res := range <-done {
		switch res.Category {
		case "tax":
			if res.Status != exchange.StatusDenied || res.Reason != "consent-withdrawn" || res.Facts != nil {
				t.Errorf("tax, withdrawn in flight: %s %s %v", res.Status, res.Reason, res.Facts)
			}
		default:
			if res.Status != exchange.StatusOK || len(res.Facts) == 0 {
				t.Errorf("%s: %s %s", res.Category, res.Status, res.Reason)
			}
		}
		_, err := r.store.GetFacts(ctx, r.citizen.Subject, res.Category, "aid-recommendation", time.Now())
		if kept := err == nil; kept != (res.Category != "tax") {
			t.Errorf("%s: kept %v (%v)", res.Category, kept, err)
		}
	}
}
