package gateway_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/gateway/store/storetest"
	"github.com/obert-gov/obert/gateway/transparency"
)

// gatewaydProc is one gatewayd process in development mode, restartable on
// the same address and database.
type gatewaydProc struct {
	t    testing.TB
	bin  string
	env  []string
	url  string
	cmd  *exec.Cmd
	logs *logBuffer
}

func (p *gatewaydProc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin)
	p.cmd.Env = p.env
	p.logs = &logBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	waitStatus(p.t, p.url+"/readyz", 200, 60*time.Second)
}

func (p *gatewaydProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

var entryRe = regexp.MustCompile(`(?s)<li class="entry" id="[^"]*">.*?</li>`)

// TestChaosKillUnderLoad: gatewayd is killed (SIGKILL) while citizens
// fetch, then started again on the same database. The public log verifies
// from its tiles, and every census answer a citizen was shown has its
// committed outcome entry in the log: nothing was delivered unaudited.
func TestChaosKillUnderLoad(t *testing.T) {
	bin, err := buildGatewayd()
	if err != nil {
		t.Fatal(err)
	}
	dbs := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "obert.db") },
	}
	if storetest.PostgresURL() != "" {
		dbs["postgres"] = func(t *testing.T) string { u, _ := storetest.SchemaURL(t, storetest.PostgresURL()); return u }
	}
	for name, db := range dbs {
		t.Run(name, func(t *testing.T) {
			secret := make([]byte, 32)
			rand.Read(secret)
			skey, vkey, err := note.GenerateKey(rand.Reader, "obert-kill-test")
			if err != nil {
				t.Fatal(err)
			}
			addr := freeAddr(t)
			p := &gatewaydProc{t: t, bin: bin, url: "http://" + addr}
			p.env = append(os.Environ(), "OBERT_MODE=dev", "OBERT_ADDR="+addr, "OBERT_PUBLIC_URL="+p.url,
				"OBERT_DATABASE_URL="+db(t), "OBERT_DATA_DIR="+t.TempDir(), "OBERT_SECRET_KEY="+hex.EncodeToString(secret),
				"OBERT_AUDIT_SIGNING_KEY="+skey, "OBERT_DEV_IDP_ADDR=127.0.0.1:0", "OBERT_DEV_CLAVE_ADDR=127.0.0.1:0",
				"OBERT_SIM_ADDR=127.0.0.1:0", "OBERT_DEV_SMTP_ADDR=127.0.0.1:0", "OBERT_LOG_LEVEL=warn")
			p.start()
			defer func() {
				p.kill()
				if t.Failed() {
					t.Logf("gatewayd's log:\n%s", p.logs.String())
				}
			}()

			var users []*user
			for _, c := range sim.NewPopulation(2026, 60, time.Now()).Citizens()[:4] {
				u := newUser(t)
				u.get(p.url + "/lang/en?return=/")
				u.signIn(p.url, c)
				u.grant(p.url, "census.aid-recommendation")
				users = append(users, u)
			}
			// Load: each citizen fetches as fast as answers come; the
			// process is killed in the middle.
			delivered := make([]atomic.Int32, len(users))
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for i, u := range users {
				wg.Go(func() {
					// Its own client, so that a killed connection fails
					// the request instead of the test.
					c := u.c
					for {
						select {
						case <-stop:
							return
						default:
						}
						resp, err := c.Get(p.url + "/folder")
						if err != nil {
							continue
						}
						page := readBody(resp)
						m := hiddenRe.FindStringSubmatch(page)
						if m == nil {
							continue
						}
						resp, err = c.PostForm(p.url+"/folder/data", map[string][]string{"csrf": {m[2]}})
						if err != nil {
							continue
						}
						if strings.Contains(readBody(resp), `class="result ok" aria-labelledby="r-census"`) {
							delivered[i].Add(1)
						}
					}
				})
			}
			// Killed once some answers were delivered and while others are
			// on their way (each citizen may fetch ten times at once).
			sum := func() int {
				n := 0
				for i := range delivered {
					n += int(delivered[i].Load())
				}
				return n
			}
			for deadline := time.Now().Add(30 * time.Second); sum() < 6 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			p.kill()
			close(stop)
			wg.Wait()
			total := sum()
			if total == 0 {
				t.Fatal("no census answer was delivered before the kill: the load did not run")
			}

			p.start()
			verifier, err := note.NewVerifier(vkey)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := audit.VerifyLog(context.Background(), &transparency.Client{Base: p.url + "/log"}, verifier, nil); err != nil {
				t.Fatalf("the log does not verify after the kill: %v", err)
			}
			for i, u := range users {
				u.get(p.url + "/folder/access?category=census")
				audited := 0
				for _, e := range entryRe.FindAllString(u.page, -1) {
					if strings.Contains(e, "Answer received") && strings.Contains(e, "Done") {
						audited++
					}
				}
				if got := int(delivered[i].Load()); audited < got {
					t.Errorf("citizen %d was shown %d census answers, %d are in the log", i, got, audited)
				}
			}
			t.Logf("%d census answers delivered before the kill, each audited", total)
		})
	}
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
