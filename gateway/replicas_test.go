package gateway_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/gateway/devidp"
	"github.com/obert-gov/obert/gateway/notify"
	"github.com/obert-gov/obert/gateway/signin"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// replicaSet is N gatewayd processes on one PostgreSQL database, sharing
// what replicas behind a load balancer share: the root secret and audit key,
// one IdCAT provider (which also issues the administrations' tokens), one
// Via Oberta and one SMTP server.
type replicaSet struct {
	URLs   []string
	IdP    *devidp.Running
	Sim    *sim.Server
	SimURL string
	Mail   *notify.Sink
	Store  *store.Store // the same database, for the test's own checks
	admins map[string]devidp.AdminClient
	logs   []*logBuffer
}

// buildGatewayd builds the gatewayd command once per test binary.
var buildGatewayd = sync.OnceValues(func() (string, error) { return goBuild("gatewayd") })

// goBuild builds cmd/name into a temporary directory and returns its path.
func goBuild(name string) (string, error) {
	dir, err := os.MkdirTemp("", "obert-"+name+"-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", bin, "github.com/obert-gov/obert/cmd/"+name).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", name, err, out)
	}
	return bin, nil
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startReplicas starts n replicas; on a fresh database (migrated false) they
// all migrate it at start, as development mode does, at the same moment.
func startReplicas(t *testing.T, n int, migrated bool) *replicaSet {
	t.Helper()
	if storetest.PostgresURL() == "" {
		t.Skip("OBERT_TEST_POSTGRES not set: replicas need PostgreSQL")
	}
	bin, err := buildGatewayd()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	dbURL, _ := storetest.SchemaURL(t, storetest.PostgresURL())
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if migrated {
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rs := &replicaSet{Store: st}

	// Via Oberta: one simulator that trusts the replicas' one SCSP key.
	now := time.Now()
	gwKey, gwCert, err := scsp.NewSelfSigned("Obert replicas test", now)
	if err != nil {
		t.Fatal(err)
	}
	simKey, simCert, err := scsp.NewSelfSigned("Via Oberta simulator", now)
	if err != nil {
		t.Fatal(err)
	}
	pop := sim.NewPopulation(2026, 60, now)
	running, err := sim.Start(ctx, "127.0.0.1:0", sim.Config{Population: pop, Key: simKey, Cert: simCert, Trusted: []*x509.Certificate{gwCert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { running.Close(context.Background()) })
	rs.Sim, rs.SimURL = running.Server, running.URL
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyFile := write("scsp.key", scsp.KeyPEM(gwKey))
	certFile := write("scsp.crt", scsp.CertPEM(gwCert))
	simCertFile := write("sim.crt", scsp.CertPEM(simCert))

	// One IdCAT provider for every replica, issuing the admin tokens too.
	addrs := make([]string, n)
	var redirects, logouts []string
	for i := range addrs {
		addrs[i] = freeAddr(t)
		rs.URLs = append(rs.URLs, "http://"+addrs[i])
		redirects = append(redirects, rs.URLs[i]+"/signin/idcat/callback")
		logouts = append(logouts, rs.URLs[i]+signin.SignedOutPath)
	}
	var citizens []devidp.Citizen
	for _, c := range pop.Citizens() {
		citizens = append(citizens, devidp.Citizen{DocType: c.DocType, DocNumber: c.DocNumber, Name: c.Name,
			Surname1: c.Surname1, Surname2: c.Surname2, BirthDate: c.BirthDate.Format(time.DateOnly), Label: c.Archetype})
	}
	rs.admins = map[string]devidp.AdminClient{
		"sandbox-gencat": {Secret: rand.Text(), Administration: "gencat-dsf"},
		"sandbox-ajbcn":  {Secret: rand.Text(), Administration: "ajbcn"},
	}
	clientSecret := rand.Text()
	idp, err := devidp.Start(ctx, "127.0.0.1:0", devidp.Config{Citizens: citizens, ClientID: "obert-replicas", ClientSecret: clientSecret,
		RedirectURIs: redirects, PostLogoutRedirectURIs: logouts, AdminClients: rs.admins})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close(context.Background()) })
	rs.IdP = idp

	rs.Mail, err = notify.StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Mail.Close() })

	secret := make([]byte, 32)
	rand.Read(secret)
	skey, _, err := note.GenerateKey(rand.Reader, "obert-replicas-audit")
	if err != nil {
		t.Fatal(err)
	}
	for i, addr := range addrs {
		env := append(os.Environ(),
			"OBERT_MODE=dev", "OBERT_ADDR="+addr, "OBERT_PUBLIC_URL="+rs.URLs[i], "OBERT_DATABASE_URL="+dbURL,
			"OBERT_DATA_DIR="+filepath.Join(dir, fmt.Sprint("replica", i)),
			"OBERT_SECRET_KEY="+hex.EncodeToString(secret), "OBERT_AUDIT_SIGNING_KEY="+skey,
			"OBERT_IDCAT_ISSUER="+idp.Issuer(), "OBERT_IDCAT_CLIENT_ID=obert-replicas", "OBERT_IDCAT_CLIENT_SECRET="+clientSecret,
			"OBERT_ADMIN_ISSUER="+idp.Issuer(),
			"OBERT_VIAOBERTA_URL="+running.URL, "OBERT_SCSP_KEY_FILE="+keyFile, "OBERT_SCSP_CERT_FILE="+certFile,
			"OBERT_VIAOBERTA_CERT_FILE="+simCertFile,
			"OBERT_SMTP_URL="+rs.Mail.URL("avisos@obert.localhost"),
			"OBERT_DEV_CLAVE_ADDR=127.0.0.1:0", "OBERT_LOG_LEVEL=info")
		cmd := exec.Command(bin)
		cmd.Env = env
		logs := &logBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		rs.logs = append(rs.logs, logs)
		t.Cleanup(func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("replica %d's log:\n%s", i, logs.String())
			}
		})
	}
	for i, u := range rs.URLs {
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := http.Get(u + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d not ready: %v\n%s", i, err, rs.logs[i].String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Each started with the collector's defaults (cmd/gatewayd's
	// collector.go), unless this environment sets GOGC.
	if os.Getenv("GOGC") == "" {
		for i := range rs.URLs {
			if l := rs.logs[i].String(); !gcPercentRe.MatchString(l) {
				t.Errorf("replica %d's log does not say the collector's target:\n%s", i, l)
			}
		}
	}
	return rs
}

var gcPercentRe = regexp.MustCompile(`garbage collector set.*gc_percent["=:]+400\b`)

func (rs *replicaSet) admin(id string) *http.Client {
	cc := clientcredentials.Config{ClientID: id, ClientSecret: rs.admins[id].Secret, TokenURL: rs.IdP.Issuer() + "/token"}
	return cc.Client(context.Background())
}

// idle waits until no alert job is waiting or running on any replica.
func (rs *replicaSet) idle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	quiet := 0
	for quiet < 3 {
		var n int
		if err := rs.Store.DB().QueryRow(`SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert jobs still pending after a minute: %d", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dependencyFetches counts the requests the simulator received for the
// fourth service.
func (rs *replicaSet) dependencyFetches() int {
	n := 0
	for _, p := range rs.Sim.Received() {
		if p.Atributos.CodigoCertificado == sim.ServiceDependency {
			n++
		}
	}
	return n
}

var privacyMain = regexp.MustCompile(`(?s)<main.*</main>`)

// TestThreeReplicasFollowOneCatalogue: three gatewayd processes on one
// PostgreSQL. An aid published on one is served by the others within two
// seconds, and the alert sweep that follows e-mails every subscriber
// exactly once whichever replica works its jobs; a connector registered on
// one is offered and used on all, /privacy is the same on every replica,
// and once its deactivation commits on one, no replica fetches from it.
func TestThreeReplicasFollowOneCatalogue(t *testing.T) {
	rs := startReplicas(t, 3, true)
	at := func(i int) string { return rs.URLs[i%len(rs.URLs)] }

	// Four older citizens, each signing in, consenting and subscribing on
	// a different replica than the previous one.
	var older []sim.Citizen
	for _, c := range sim.NewPopulation(2026, 60, time.Now()).Citizens() {
		if c.Archetype == "older-alone" && len(older) < 4 {
			older = append(older, c)
		}
	}
	users := make([]*user, len(older))
	for i, c := range older {
		u := newUser(t)
		u.get(at(i) + "/lang/ca?return=/")
		u.signIn(at(i), c)
		u.grant(at(i+1), "census.aid-recommendation")
		if s := u.fetchData(at(i + 2)); s != http.StatusOK {
			t.Fatalf("fetch: %d", s)
		}
		u.grant(at(i), "census.proactive-alerts")
		form := url.Values{"channel": {"email"}, "email": {fmt.Sprintf("citizen%d@example.org", i)}, "quiet_from": {""}, "quiet_to": {""}}
		if s := u.subscribe(at(i+1), form); s != http.StatusOK || !strings.Contains(u.url, "done=alerts_subscribed") {
			t.Fatalf("subscribe %d: %d %s", i, s, u.page)
		}
		users[i] = u
	}
	// Each address confirmed from its link, on any replica.
	rs.Mail.Wait(len(older), 60*time.Second)
	for i := range older {
		confirmIn(t, rs.Mail, fmt.Sprintf("citizen%d@example.org", i))
	}
	rs.idle(t) // the baselines at subscription

	// An aid published on replica 0 is served by 1 and 2 within 2 s.
	gencat := rs.admin("sandbox-gencat")
	if s, p := call(t, gencat, http.MethodPost, at(0)+"/admin/v1/aids", alertTestAid("Una prova.")); s != http.StatusCreated {
		t.Fatalf("publish: %d %v", s, p)
	}
	published := time.Now()
	for _, r := range []int{1, 2} {
		for {
			users[0].get(at(r) + "/folder/aids")
			if strings.Contains(users[0].page, "Ajut nou per a la gent gran") {
				t.Logf("replica %d serves the aid %v after its publication", r, time.Since(published).Round(time.Millisecond))
				break
			}
			if time.Since(published) > 2*time.Second {
				t.Fatalf("replica %d does not serve the aid 2 s after its publication", r)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Every subscriber is e-mailed exactly once, whichever replica swept.
	rs.Mail.Wait(2*len(older), 60*time.Second)
	rs.idle(t)
	time.Sleep(time.Second) // a duplicate would have arrived by now
	got := map[string]int{}
	for _, m := range rs.Mail.Messages() {
		if isConfirmation(t, m) {
			continue
		}
		for _, to := range m.To {
			got[to]++
		}
	}
	for i := range older {
		if to := fmt.Sprintf("citizen%d@example.org", i); got[to] != 1 {
			t.Errorf("%s received %d alerts, want exactly 1 (all: %v)", to, got[to], got)
		}
	}
	if len(got) != len(older) {
		t.Errorf("alerts went to %v", got)
	}

	// A connector registered on replica 0 is offered, used and listed on
	// every replica.
	dep := sim.NewPopulation(2026, 60, time.Now()).Citizens()
	var carer sim.Citizen
	for _, c := range dep {
		if c.Archetype == "dependent-household" {
			carer = c
			break
		}
	}
	if s, p := call(t, gencat, http.MethodPost, at(0)+"/admin/v1/connectors", dependencyRegistration(t, rs.SimURL, carer.DocNumber)); s != http.StatusCreated {
		t.Fatalf("register: %d %v", s, p)
	}
	registered := time.Now()
	u := newUser(t)
	u.get(at(1) + "/lang/en?return=/")
	u.signIn(at(1), carer)
	for _, r := range []int{1, 2} {
		for u.get(at(r) + "/folder/consent"); !strings.Contains(u.page, "version.dependency.aid-recommendation"); u.get(at(r) + "/folder/consent") {
			if time.Since(registered) > 2*time.Second {
				t.Fatalf("replica %d does not offer the connector 2 s after its registration", r)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	u.grant(at(1), "dependency.aid-recommendation")
	before := rs.dependencyFetches()
	if s := u.fetchData(at(2)); s != http.StatusOK {
		t.Fatalf("fetch on replica 2: %d", s)
	}
	if rs.dependencyFetches() <= before {
		t.Fatal("replica 2 did not fetch from the connector registered on replica 0")
	}
	privacy := func() []string {
		var out []string
		for i := range rs.URLs {
			resp, err := http.Get(at(i) + "/privacy")
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, privacyMain.FindString(string(b)))
		}
		return out
	}
	pages := privacy()
	if !strings.Contains(pages[0], "SISAAD") {
		t.Fatalf("/privacy does not list the registered connector:\n%s", pages[0])
	}
	for i, p := range pages[1:] {
		if p != pages[0] {
			t.Errorf("/privacy on replica %d differs from replica 0's", i+1)
		}
	}

	// Deactivated on replica 0: once that commits, no replica fetches.
	if s, p := change(t, gencat, http.MethodDelete, at(0)+"/admin/v1/connectors/dependency-gencat", nil); s != http.StatusOK {
		t.Fatalf("deactivate: %d %v", s, p)
	}
	before = rs.dependencyFetches()
	for _, r := range []int{1, 2, 0} {
		u.fetchData(at(r))
	}
	if n := rs.dependencyFetches() - before; n != 0 {
		t.Fatalf("%d fetches from a connector deactivated before they started", n)
	}
	pages = privacy()
	for i, p := range pages {
		if strings.Contains(p, "SISAAD") {
			t.Errorf("/privacy on replica %d still lists the deactivated connector", i)
		}
		if p != pages[0] {
			t.Errorf("/privacy on replica %d differs from replica 0's after the deactivation", i)
		}
	}
}

// TestReplicasStartTogether: three replicas started at once on a database
// nobody migrated yet all come up: they take turns migrating it.
func TestReplicasStartTogether(t *testing.T) {
	rs := startReplicas(t, 3, false)
	sc, err := rs.Store.SchemaStatus(context.Background())
	if err != nil || len(sc.Pending) != 0 {
		t.Fatalf("schema after three replicas started: %+v %v", sc, err)
	}
}
