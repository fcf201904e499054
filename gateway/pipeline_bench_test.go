package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

var buildSim = sync.OnceValues(func() (string, error) { return goBuild("viaoberta-sim") })

// backendPIDs lists the PostgreSQL backends of the connections named app.
func backendPIDs(ctx context.Context, dbURL, app string) ([]int, error) {
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer c.Close(ctx)
	rows, err := c.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = $1", app)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

// cpuOf is the CPU time the processes pids have used, in total.
func cpuOf(pids []int) time.Duration {
	var d time.Duration
	for _, pid := range pids {
		d += procCPU(pid)
	}
	return d
}

// cpuSplit is the CPU of a pipeline phase's processes: gatewayd, the
// simulator, gatewayd's PostgreSQL backends, and this process (the load,
// and the proxy in the proxy's phases).
type cpuSplit struct{ gw, sim, db, load time.Duration }

func (a cpuSplit) plus(b cpuSplit) cpuSplit {
	return cpuSplit{a.gw + b.gw, a.sim + b.sim, a.db + b.db, a.load + b.load}
}

func (a cpuSplit) minus(b cpuSplit) cpuSplit {
	return cpuSplit{a.gw - b.gw, a.sim - b.sim, a.db - b.db, a.load - b.load}
}

// procCPU is the CPU time (user and system) process pid has used.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command's name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// BenchmarkPipeline measures the whole exchange path. gatewayd (development
// mode, SQLite or PostgreSQL) and the Via Oberta simulator each run as a
// process of their own; signed-in citizens who consented to their census,
// tax and working-life data POST /folder/data over loopback HTTP, each
// POST three exchanges (consent lookup, guard decisions, audit intents,
// signed SCSP requests, verified answers, outcomes, sealed facts, the
// page). Interleaved with it in the same run, a bare httputil.ReverseProxy
// forwards the same kind of signed SCSP requests, signed beforehand, to the
// same simulator: what the network and the source cost alone. It reports
// exchanges/s for both, x-proxy (gateway ÷ proxy) and the gateway
// process's CPU time per exchange.
//
// It also splits the CPU of each phase by process, per exchange: the
// simulator's in the gateway's phases (sim-cpu-ms) and in the proxy's
// (proxy-sim-cpu-ms), PostgreSQL's backends for gatewayd (db-cpu-ms), and
// this process's, which is the load in the gateway's phases (load-cpu-ms)
// and the load and the proxy in the proxy's (proxy-load-cpu-ms). Sharing
// the processors, x-proxy is about (proxy-sim + proxy-load) ÷ (sim +
// cpu + db + load): what the gateway's side may cost for a ratio follows.
//
// Each store runs twice. source-apart puts the simulator on half the
// processors and everything else (gatewayd, its PostgreSQL backends, the
// load, the proxy) on the other half, as Via Oberta runs on machines of
// its own: x-proxy then says how close the gateway comes to a bare proxy
// on the same processors. source-shared lets every process run anywhere,
// as the first measurements did: there the simulator (about 1.4 ms of CPU
// an exchange, its own RSA signature included) takes the processors the
// gateway would use, so x-proxy mostly says how expensive the source is.
func BenchmarkPipeline(b *testing.B) {
	stores := []string{"sqlite"}
	if storetest.PostgresURL() != "" {
		stores = append(stores, "postgres")
	}
	if testing.Short() {
		// make test's run of every benchmark, to keep them working: one
		// store, one layout, one short round.
		b.Run("sqlite/source-shared", func(b *testing.B) { benchPipeline(b, "sqlite", nil) })
		return
	}
	for _, st := range stores {
		b.Run(st, func(b *testing.B) {
			b.Run("source-apart", func(b *testing.B) { benchPipeline(b, st, sourceApart(b)) })
			b.Run("source-shared", func(b *testing.B) { benchPipeline(b, st, nil) })
		})
	}
}

// benchPipeline runs the pipeline with the processes placed as lay says:
// with the source apart (the simulator on processors of its own, as Via
// Oberta is, the rest on the others), x-proxy compares the gateway with a
// bare proxy on the same processors; with them shared, it also depends on
// how much of them the simulator takes.
func benchPipeline(b *testing.B, store string, lay *layout) {
	defer lay.restore()
	const (
		workers = 12
		phase   = time.Second
	)
	// PIPELINE_ROUNDS runs longer, for the memory figures (40 rounds are
	// about 25,000 exchanges); each citizen may fetch 10 times at once
	// (the per-citizen limit), so there are enough of them for every round.
	rounds, population := 6, 400
	if testing.Short() {
		rounds, population = 1, 60
	}
	if v, err := strconv.Atoi(os.Getenv("PIPELINE_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	population = max(population, rounds*60)
	gwBin, err := buildGatewayd()
	if err != nil {
		b.Fatal(err)
	}
	simBin, err := buildSim()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	now := time.Now()
	gwKey, gwCert, err := scsp.NewSelfSigned("Obert pipeline gateway", now)
	if err != nil {
		b.Fatal(err)
	}
	keyFile, certFile, simCertFile := filepath.Join(dir, "scsp.key"), filepath.Join(dir, "scsp.pem"), filepath.Join(dir, "sim.pem")
	os.WriteFile(keyFile, scsp.KeyPEM(gwKey), 0o600)
	os.WriteFile(certFile, scsp.CertPEM(gwCert), 0o644)

	// The simulator, on its own.
	simAddr := freeAddr(b)
	simCmd := exec.Command(simBin, "-addr", simAddr, "-seed", "2026", "-population", strconv.Itoa(population),
		"-trust", certFile, "-cert-out", simCertFile, "-header-faults=false", "-remember", "30s")
	simLogs := &logBuffer{}
	simCmd.Stdout, simCmd.Stderr = simLogs, simLogs
	if err := simCmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { simCmd.Process.Kill(); simCmd.Wait() }()
	if err := lay.source(simCmd.Process.Pid); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.Dial("tcp", simAddr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the simulator did not start:\n%s", simLogs)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The gateway, against it.
	dbURL := "sqlite:" + filepath.Join(dir, "obert.db")
	const app = "obert-pipeline"
	pinDB := func() {}
	if store == "postgres" {
		dbURL, _ = storetest.SchemaURL(b, storetest.PostgresURL())
		dbURL += "&application_name=" + app
		pinDB = func() {
			if err := lay.backends(b.Context(), storetest.PostgresURL(), app); err != nil {
				b.Fatalf("pinning PostgreSQL's backends: %v", err)
			}
		}
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	skey, _, _ := note.GenerateKey(rand.Reader, "obert-pipeline")
	addr := freeAddr(b)
	p := &gatewaydProc{t: b, bin: gwBin, url: "http://" + addr}
	p.env = append(os.Environ(), "OBERT_MODE=dev", "OBERT_ADDR="+addr, "OBERT_PUBLIC_URL="+p.url,
		"OBERT_DATABASE_URL="+dbURL, "OBERT_DATA_DIR="+dir, "OBERT_SECRET_KEY="+hex.EncodeToString(secret),
		"OBERT_AUDIT_SIGNING_KEY="+skey, "OBERT_DEV_IDP_ADDR=127.0.0.1:0", "OBERT_DEV_CLAVE_ADDR=127.0.0.1:0",
		"OBERT_DEV_SMTP_ADDR=127.0.0.1:0", "OBERT_LOG_LEVEL=error", "OBERT_TRUSTED_PROXIES=127.0.0.1",
		"OBERT_VIAOBERTA_URL=http://"+simAddr, "OBERT_SCSP_KEY_FILE="+keyFile, "OBERT_SCSP_CERT_FILE="+certFile,
		"OBERT_VIAOBERTA_CERT_FILE="+simCertFile, "OBERT_DEV_POPULATION="+strconv.Itoa(population))
	// PIPELINE_GW_ENV adds settings to gatewayd's environment alone, to
	// weigh one against the default in the same conditions (say
	// GOGC=800, or a GODEBUG setting): the load and the simulator keep
	// theirs.
	if e := os.Getenv("PIPELINE_GW_ENV"); e != "" {
		p.env = append(p.env, strings.Fields(e)...)
	}
	p.start()
	defer p.kill()

	// Every citizen signs in and consents to the three categories.
	citizens := sim.NewPopulation(2026, population, now).Citizens()
	type client struct {
		http *http.Client
		csrf string
		left int // fetches before the per-citizen limit
	}
	clients := make([]*client, len(citizens))
	// Their connections are kept between fetches, as the proxy's client
	// below keeps its own and a browser its: http.DefaultTransport keeps two
	// a host, so most fetches of twelve workers would open a connection.
	citizensRT := http.DefaultTransport.(*http.Transport).Clone()
	citizensRT.MaxIdleConnsPerHost = workers
	defer citizensRT.CloseIdleConnections()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(citizens); i += workers {
				jar, _ := cookiejar.New(nil)
				hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: forwardedFor{fmt.Sprintf("10.9.%d.%d", i/250, i%250+1), citizensRT}}
				csrf, err := signInAndConsent(hc, p.url, citizens[i])
				if err != nil {
					if failed.Add(1) == 1 {
						b.Errorf("citizen %d: %v", i, err)
					}
					continue
				}
				clients[i] = &client{http: hc, csrf: csrf, left: 10}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%d citizens could not sign in and consent; gatewayd says:\n%s", failed.Load(), p.logs)
	}

	idle := rssKB(p.cmd.Process.Pid)

	// The proxy and the requests it forwards: built and signed as the
	// gateway's connectors build them, before the clock starts. The proxy
	// reaches the simulator through the pool of connections the gateway's
	// connectors use (scsp.NewHTTPClient), not the default transport's two
	// a host, which would open a connection for most of its requests.
	target, _ := url.Parse("http://" + simAddr)
	rp := httputil.NewSingleHostReverseProxy(target)
	toSim := scsp.NewHTTPClient(30 * time.Second).Transport.(*http.Transport)
	defer toSim.CloseIdleConnections()
	rp.Transport = toSim
	proxy := httptest.NewServer(rp)
	defer proxy.Close()
	signer := scsp.Signer{Key: gwKey, Cert: gwCert}
	services := []struct {
		path string
		cat  connectors.Category
		svc  scsp.Service
	}{{"/scsp/census", connectors.Census, scsp.Census}, {"/scsp/tax", connectors.Tax, scsp.Tax}, {"/scsp/employment", connectors.Employment, scsp.Employment}}
	type signed struct {
		path string
		body []byte
	}
	var seq atomic.Int64
	sign := func(n int) []signed {
		out := make([]signed, 0, n)
		for i := range n {
			c := citizens[i%len(citizens)]
			s := services[i%len(services)]
			conn, _ := scsp.NewConnector(scsp.ConnectorConfig{ID: string(s.cat), Category: s.cat, Source: "src", Service: s.svc,
				Client: &scsp.Client{}, EmisorNIF: "Q0801175A", Emisor: "Consorci AOC"})
			pet, err := conn.Build(connectors.Request{RequestID: fmt.Sprintf("PROXY-%d", seq.Add(1)), Category: s.cat,
				Titular:   connectors.Titular{DocType: c.DocType, DocNumber: c.DocNumber, Name: c.Name, Surname1: c.Surname1},
				Requester: connectors.Requester{ID: "S0811001G", Name: "Departament de Drets Socials", Procedure: "OBERT-AJUTS", Officer: "Actuació automatitzada", OfficerNIF: "S0811001G", CaseID: "OBERT-AJUTS-1"},
				Purpose:   "Recomanació d'ajuts", Consent: connectors.ConsentYes})
			if err != nil {
				b.Fatal(err)
			}
			raw, _ := xml.Marshal(pet)
			env, err := signer.Envelope(raw, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, signed{s.path, env})
		}
		return out
	}
	pc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	forward := func(r signed) bool {
		req, _ := http.NewRequest(http.MethodPost, proxy.URL+r.path, bytes.NewReader(r.body))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `"peticionSincrona"`)
		resp, err := pc.Do(req)
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte("<CodigoEstado>0003</CodigoEstado>"))
	}

	// One gateway phase: each worker takes a citizen with fetches left and
	// POSTs /folder/data, until the phase ends.
	var next, lost atomic.Int64
	var mu sync.Mutex
	backends := func() []int {
		if store != "postgres" {
			return nil
		}
		pids, err := backendPIDs(b.Context(), storetest.PostgresURL(), app)
		if err != nil {
			b.Fatalf("PostgreSQL's backends: %v", err)
		}
		return pids
	}
	var dbPIDs []int // gatewayd's backends, listed before each phase
	cpuNow := func() cpuSplit {
		return cpuSplit{procCPU(p.cmd.Process.Pid), procCPU(simCmd.Process.Pid), cpuOf(dbPIDs), procCPU(os.Getpid())}
	}
	since := func(c0 cpuSplit) cpuSplit { return cpuNow().minus(c0) }
	gatewayPhase := func() (exchanges int, took time.Duration, cpu cpuSplit) {
		var n atomic.Int64
		dbPIDs = backends()
		cpu0, start := cpuNow(), time.Now()
		until := start.Add(phase)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for time.Now().Before(until) {
					i := int(next.Add(1)) % len(clients)
					mu.Lock()
					c := clients[i]
					ok := c.left > 0
					c.left--
					mu.Unlock()
					if !ok {
						continue
					}
					resp, err := c.http.PostForm(p.url+"/folder/data", url.Values{"csrf": {c.csrf}})
					if err != nil {
						b.Errorf("fetch: %v", err)
						return
					}
					page := readBody(resp)
					if resp.StatusCode != http.StatusOK {
						b.Errorf("fetch: %d", resp.StatusCode)
						return
					}
					// A source that timed out under load is an outcome
					// too: counted, and reported.
					fetched := strings.Count(page, `class="result ok"`)
					n.Add(int64(fetched))
					lost.Add(int64(3 - fetched))
				}
			})
		}
		wg.Wait()
		took = time.Since(start)
		dbPIDs = append(dbPIDs, slices.DeleteFunc(backends(), func(pid int) bool { return slices.Contains(dbPIDs, pid) })...)
		return int(n.Load()), took, since(cpu0)
	}
	proxyPhase := func(reqs []signed) (exchanges int, took time.Duration, cpu cpuSplit) {
		var n, i atomic.Int64
		dbPIDs = nil
		cpu0, start := cpuNow(), time.Now()
		until := start.Add(phase)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for time.Now().Before(until) {
					k := int(i.Add(1)) - 1
					if k >= len(reqs) {
						return
					}
					if !forward(reqs[k]) {
						b.Error("the proxied request failed")
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return int(n.Load()), time.Since(start), since(cpu0)
	}

	// Warm-up, then interleaved rounds.
	gatewayPhase()
	proxyPhase(sign(100))
	pinDB()
	lost.Store(0)
	simWarm := rssKB(simCmd.Process.Pid) // the simulator's, after its first requests
	var gwN, pxN int
	var gwT, pxT time.Duration
	var gwCPU, pxCPU cpuSplit
	b.ResetTimer()
	var simHalf int
	for r := range rounds {
		if r == rounds/2 {
			simHalf = rssKB(simCmd.Process.Pid) // its memory of requests full, for longer runs
		}
		reqs := sign(1500) // more than a phase sends
		pinDB()            // connections the pool opened since
		b.StartTimer()
		n, t, c := gatewayPhase()
		gwN, gwT = gwN+n, gwT+t
		gwCPU = gwCPU.plus(c)
		n, t, c = proxyPhase(reqs)
		pxN, pxT = pxN+n, pxT+t
		pxCPU = pxCPU.plus(c)
		b.StopTimer()
	}
	if gwN == 0 || pxN == 0 {
		b.Fatalf("gateway %d, proxy %d exchanges", gwN, pxN)
	}
	gw, px := float64(gwN)/gwT.Seconds(), float64(pxN)/pxT.Seconds()
	b.ReportMetric(gw, "exchanges/s")
	b.ReportMetric(px, "proxy-exchanges/s")
	b.ReportMetric(gw/px, "x-proxy")
	perExchange := func(d time.Duration, n int) float64 { return float64(d.Microseconds()) / 1e3 / float64(n) }
	sim, pxSim, pxLoad := perExchange(gwCPU.sim, gwN), perExchange(pxCPU.sim, pxN), perExchange(pxCPU.load, pxN)
	b.ReportMetric(perExchange(gwCPU.gw, gwN), "cpu-ms/exchange")
	b.ReportMetric(sim, "sim-cpu-ms/exchange")
	b.ReportMetric(perExchange(gwCPU.load, gwN), "load-cpu-ms/exchange")
	b.ReportMetric(pxSim, "proxy-sim-cpu-ms/exchange")
	b.ReportMetric(pxLoad, "proxy-load-cpu-ms/exchange")
	if store == "postgres" {
		b.ReportMetric(perExchange(gwCPU.db, gwN), "db-cpu-ms/exchange")
	}
	// The ratio the processes' CPU alone would give, were both phases
	// bound by it: the proxy's (simulator, load and proxy) over the
	// gateway's (simulator, gatewayd, its backends, load). Shared, when
	// the two cores are busy, x-proxy is close to it, and the gateway's
	// side (cpu + db + load) reaches a ratio r at (proxy-sim +
	// proxy-load) / r - sim; apart, x-proxy is above it.
	gwSide := perExchange(gwCPU.gw+gwCPU.db+gwCPU.load, gwN)
	b.ReportMetric((pxSim+pxLoad)/(sim+gwSide), "x-cpu")
	b.ReportMetric(gwSide, "side-cpu-ms/exchange")
	// Resident memory after the run: the gateway's against after sign-in
	// (idle), the simulator's against after warm-up.
	rss, simRSS := rssKB(p.cmd.Process.Pid), rssKB(simCmd.Process.Pid)
	b.ReportMetric(float64(gwN+pxN), "exchanges")
	b.ReportMetric(float64(lost.Load()), "failed")
	if f := lost.Load(); f*200 > int64(gwN) {
		b.Errorf("%d of %d exchanges failed", f, int64(gwN)+f)
	}
	b.ReportMetric(float64(rss)/1024, "rss-MB")
	b.ReportMetric(float64(rss)/float64(idle), "rss-x-idle")
	b.ReportMetric(float64(simRSS)/float64(simWarm), "sim-rss-x-warm")
	b.ReportMetric(float64(simRSS)/float64(simHalf), "sim-rss-x-half")
	b.ReportMetric(0, "ns/op")
}

// signInAndConsent signs c in through the development idCAT provider and
// gives the consent of the census, tax and working-life data for
// recommendations; it returns the folder's CSRF token.
func signInAndConsent(hc *http.Client, base string, c sim.Citizen) (string, error) {
	get := func(u string) (string, string, error) {
		resp, err := hc.Get(u)
		if err != nil {
			return "", "", err
		}
		return readBody(resp), resp.Request.URL.String(), nil
	}
	page, at, err := get(base + "/signin/idcat?return=/folder")
	if err != nil {
		return "", err
	}
	idp, _, found := strings.Cut(at, "/authorize")
	if !found {
		return "", fmt.Errorf("sign-in went to %s", at)
	}
	resp, err := hc.PostForm(idp+"/authorize", url.Values{"auth": {hiddenValue(page, "auth")}, "acr": {"substantial"}, "citizen": {c.DocNumber}})
	if err != nil {
		return "", err
	}
	readBody(resp)
	page, _, err = get(base + "/folder/consent")
	if err != nil {
		return "", err
	}
	form := url.Values{"csrf": {hiddenValue(page, "csrf")}}
	for _, cat := range []string{"census", "tax", "employment"} {
		k := cat + ".aid-recommendation"
		form.Add("grant", k)
		form.Set("version."+k, hiddenValue(page, "version."+k))
	}
	resp, err = hc.PostForm(base+"/folder/consent", form)
	if err != nil {
		return "", err
	}
	if page = readBody(resp); resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("consent: %d", resp.StatusCode)
	}
	csrf := hiddenValue(page, "csrf")
	if csrf == "" {
		return "", fmt.Errorf("no CSRF token after consenting")
	}
	return csrf, nil
}
