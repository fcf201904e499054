package gateway_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/connectors/sim"
)

// rssKB reads a process's resident set size.
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// BenchmarkSoak runs gatewayd (development mode, SQLite) as its own process
// under mixed citizen traffic at a fixed concurrency for SOAKTIME (default
// 1 minute, at most 5): signed-in citizens reading their folder, consent,
// aids and access pages and fetching their data, and anonymous visitors on
// the home page and the questionnaire, each client behind its own address
// (through the trusted proxy header). It reports requests/s, errors (any
// status of 500 or more, or a failed request), the 99th percentile latency
// and how much the gateway's resident memory grew from after warm-up.
func BenchmarkSoak(b *testing.B) {
	d := 1 * time.Minute
	if testing.Short() {
		d = 5 * time.Second // make test's run of every benchmark
	}
	if v := os.Getenv("SOAKTIME"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			b.Fatal(err)
		}
	}
	d = min(d, 5*time.Minute)
	const workers = 8
	bin, err := buildGatewayd()
	if err != nil {
		b.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	skey, _, _ := note.GenerateKey(rand.Reader, "obert-soak")
	addr := freeAddr(b)
	dir := b.TempDir()
	p := &gatewaydProc{t: b, bin: bin, url: "http://" + addr}
	p.env = append(os.Environ(), "OBERT_MODE=dev", "OBERT_ADDR="+addr, "OBERT_PUBLIC_URL="+p.url,
		"OBERT_DATABASE_URL=sqlite:"+filepath.Join(dir, "obert.db"), "OBERT_DATA_DIR="+dir, "OBERT_SECRET_KEY="+hex.EncodeToString(secret),
		"OBERT_AUDIT_SIGNING_KEY="+skey, "OBERT_DEV_IDP_ADDR=127.0.0.1:0", "OBERT_DEV_CLAVE_ADDR=127.0.0.1:0",
		"OBERT_SIM_ADDR=127.0.0.1:0", "OBERT_DEV_SMTP_ADDR=127.0.0.1:0", "OBERT_LOG_LEVEL=error", "OBERT_TRUSTED_PROXIES=127.0.0.1")
	p.start()
	defer p.kill()

	citizens := sim.NewPopulation(2026, 60, time.Now()).Citizens()
	type result struct {
		took time.Duration
		err  bool
	}
	var mu sync.Mutex
	var results []result
	record := func(took time.Duration, bad bool) {
		mu.Lock()
		results = append(results, result{took, bad})
		mu.Unlock()
	}
	// One client: its own cookies and address, signed in as a citizen.
	client := func(w, n int) *http.Client {
		jar, _ := cookiejar.New(nil)
		ip := fmt.Sprintf("10.%d.%d.%d", w, n/250%250, n%250+1)
		return &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: forwardedFor{ip: ip}}
	}
	var last sync.Map // client → the URL its last request ended at
	do := func(c *http.Client, method, u string, form url.Values) (string, bool) {
		start := time.Now()
		var resp *http.Response
		var err error
		if method == http.MethodPost {
			resp, err = c.PostForm(u, form)
		} else {
			resp, err = c.Get(u)
		}
		if err != nil {
			record(time.Since(start), true)
			return "", false
		}
		last.Store(c, resp.Request.URL.String())
		page := readBody(resp)
		record(time.Since(start), resp.StatusCode >= 500)
		return page, resp.StatusCode < 400
	}
	csrfOf := func(page string) string {
		if m := hiddenRe.FindStringSubmatch(page); m != nil {
			return m[2]
		}
		return ""
	}
	session := func(w, n int, until time.Time) {
		c := client(w, n)
		cit := citizens[(w*31+n)%len(citizens)]
		// Anonymous first: home, questionnaire.
		do(c, http.MethodGet, p.url+"/", nil)
		page, _ := do(c, http.MethodGet, p.url+"/questionnaire", nil)
		do(c, http.MethodPost, p.url+"/questionnaire", url.Values{"csrf": {csrfOf(page)}, "age": {"70"}, "household": {"1"}, "minors": {"0"}, "dependent": {"no"}, "work": {"retired"}, "income": {"900"}})
		// Sign in through the development provider.
		page, ok := do(c, http.MethodGet, p.url+"/signin/idcat?return=/folder", nil)
		if !ok {
			return
		}
		var auth string
		for _, m := range hiddenRe.FindAllStringSubmatch(page, -1) {
			if m[1] == "auth" {
				auth = m[2]
			}
		}
		at, _ := last.Load(c)
		idp, _, found := strings.Cut(at.(string), "/authorize")
		if !found {
			record(0, true)
			return
		}
		if _, ok := do(c, http.MethodPost, idp+"/authorize", url.Values{"auth": {auth}, "acr": {"substantial"}, "citizen": {cit.DocNumber}}); !ok {
			return
		}
		page, _ = do(c, http.MethodGet, p.url+"/folder/consent", nil)
		do(c, http.MethodPost, p.url+"/folder/consent", url.Values{"csrf": {csrfOf(page)}, "grant": {"census.aid-recommendation"},
			"version.census.aid-recommendation": {hiddenValue(page, "version.census.aid-recommendation")}})
		for time.Now().Before(until) {
			page, _ = do(c, http.MethodGet, p.url+"/folder", nil)
			do(c, http.MethodPost, p.url+"/folder/data", url.Values{"csrf": {csrfOf(page)}})
			do(c, http.MethodGet, p.url+"/folder/aids", nil)
			do(c, http.MethodGet, p.url+"/folder/access", nil)
			if n%2 == 0 {
				return // a new visitor takes this worker's place
			}
		}
	}
	run := func(until time.Time) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for n := 0; time.Now().Before(until); n++ {
					session(w, n, until)
				}
			})
		}
		wg.Wait()
	}
	// Warm-up, then the measured run.
	run(time.Now().Add(min(10*time.Second, d/6)))
	mu.Lock()
	results = nil
	mu.Unlock()
	rss0 := rssKB(p.cmd.Process.Pid)
	b.ResetTimer()
	start := time.Now()
	run(start.Add(d))
	took := time.Since(start)
	b.StopTimer()
	rss1 := rssKB(p.cmd.Process.Pid)
	lat := make([]time.Duration, 0, len(results))
	errs := 0
	for _, r := range results {
		lat = append(lat, r.took)
		if r.err {
			errs++
		}
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no request was made")
	}
	b.ReportMetric(float64(len(lat))/took.Seconds(), "requests/s")
	b.ReportMetric(float64(errs), "errors")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(rss1)/1024, "rss-MB")
	b.ReportMetric(float64(rss1-rss0)/1024, "rss-growth-MB")
	if errs > 0 {
		b.Errorf("%d of %d requests failed", errs, len(lat))
	}
}

// forwardedFor sends each request as if through the trusted proxy, from
// ip, over rt (nil: http.DefaultTransport).
type forwardedFor struct {
	ip string
	rt http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.ip)
	if f.rt == nil {
		return http.DefaultTransport.RoundTrip(r)
	}
	return f.rt.RoundTrip(r)
}

func hiddenValue(page, name string) string {
	for _, m := range hiddenRe.FindAllStringSubmatch(page, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}
