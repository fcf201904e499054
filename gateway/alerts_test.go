package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"crypto/ecdh"
	"crypto/rand"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/notify"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// pushReceiver is a push service on loopback that counts what it is sent.
type pushReceiver struct {
	mu   sync.Mutex
	hits map[string]int // by path
	srv  *httptest.Server
}

func newPushReceiver(t *testing.T) *pushReceiver {
	p := &pushReceiver{hits: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "vapid t=") || r.Header.Get("Content-Encoding") != "aes128gcm" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		p.mu.Lock()
		p.hits[r.URL.Path]++
		p.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pushReceiver) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

// subscription is a browser's push subscription for path.
func (p *pushReceiver) subscription(path string) string {
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	b, _ := json.Marshal(map[string]any{"endpoint": p.srv.URL + path, "keys": map[string]string{
		"p256dh": base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), "auth": base64.RawURLEncoding.EncodeToString(auth)}})
	return string(b)
}

// grant gives the consent category.purpose on the consent page.
func (u *user) grant(base, key string) {
	u.t.Helper()
	u.get(base + "/folder/consent")
	if s := u.post(base+"/folder/consent", url.Values{"csrf": {u.hidden("csrf")}, "grant": {key},
		"version." + key: {u.hidden("version." + key)}}); s != http.StatusOK {
		u.t.Fatalf("grant %s: %d %s", key, s, u.page)
	}
}

// subscribe subscribes a channel on the alerts page.
func (u *user) subscribe(base string, form url.Values) int {
	u.t.Helper()
	u.get(base + "/folder/alerts")
	form.Set("csrf", u.hidden("csrf"))
	return u.post(base+"/folder/alerts", form)
}

var confirmLink = regexp.MustCompile(`https?://\S+/alerts/confirm\?t=[A-Za-z0-9]+`)

// confirmAddress follows the confirmation link last e-mailed to address:
// the page, then its button.
func confirmAddress(t *testing.T, d *devGateway, address string) {
	t.Helper()
	confirmIn(t, d.Dev.Mail, address)
}

// confirmIn confirms address from the last link the sink received for it.
func confirmIn(t *testing.T, sink *notify.Sink, address string) {
	t.Helper()
	var link string
	for _, m := range sink.Messages() {
		if len(m.To) == 1 && m.To[0] == address {
			if l := confirmLink.FindString(textOf(t, string(m.Raw))); l != "" {
				link = l
			}
		}
	}
	if link == "" {
		t.Fatalf("no confirmation link was sent to %s", address)
	}
	u := newUser(t)
	u.get(link)
	if s := u.post(link, url.Values{}); s != http.StatusOK {
		t.Fatalf("confirm %s: %d %s", address, s, u.page)
	}
}

// isConfirmation reports whether m is a confirmation e-mail.
func isConfirmation(t *testing.T, m notify.Received) bool {
	return confirmLink.MatchString(textOf(t, string(m.Raw)))
}

// idle waits until no alert job is waiting to run or running (scheduled
// ones, snoozed for quiet hours, do not count).
func idle(t *testing.T, d *devGateway) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		res, err := d.Alerts.Client().JobList(context.Background(), river.NewJobListParams().
			States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStatePending).First(10))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Jobs) == 0 {
			failed, err := d.Alerts.Client().JobList(context.Background(), river.NewJobListParams().
				States(rivertype.JobStateDiscarded, rivertype.JobStateCancelled).First(10))
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range failed.Jobs {
				t.Errorf("job %s %s: %v", j.Kind, j.State, j.Errors)
			}
			return
		}
		for _, j := range res.Jobs {
			if len(j.Errors) > 0 {
				t.Fatalf("job %s failed: %v", j.Kind, j.Errors)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("alert jobs still pending after 60 s")
}

func olderAlone(d *devGateway, n int) []sim.Citizen {
	var out []sim.Citizen
	for _, c := range d.Dev.Citizens {
		if c.Archetype == sim.OlderAlone && len(out) < n {
			out = append(out, c)
		}
	}
	return out
}

var unsubscribeLink = regexp.MustCompile(`https?://\S+/alerts/unsubscribe\?\S+`)

// TestProactiveAlerts is phase 3 end to end, on SQLite and on PostgreSQL:
// citizens consent to alerts and subscribe; an administration publishes an
// aid through the API; River jobs sweep the subscribers through the guard;
// the one it fits gets one e-mail (through SMTP) and one push, and only
// once; a withdrawn consent, an objection and quiet hours each keep a
// message from going; the link in the e-mail unsubscribes.
func TestProactiveAlerts(t *testing.T) {
	backends := map[string][]string{"sqlite": nil}
	if pg := storetest.PostgresURL(); pg != "" {
		u, _ := storetest.SchemaURL(t, pg)
		backends["postgres"] = []string{"-database", u}
	}
	for name, extra := range backends {
		t.Run(name, func(t *testing.T) { proactiveAlerts(t, startDev(t, extra...)) })
	}
}

func proactiveAlerts(t *testing.T, d *devGateway) {
	ctx := context.Background()
	push := newPushReceiver(t)
	cs := olderAlone(d, 4)
	if len(cs) < 4 {
		t.Fatalf("%d older citizens in the synthetic population", len(cs))
	}
	madrid, _ := time.LoadLocation("Europe/Madrid")
	now := time.Now().In(madrid)
	quietFrom, quietTo := now.Add(-time.Hour).Format("15:04"), now.Add(time.Hour).Format("15:04")

	users := make([]*user, 4)
	for i, c := range cs {
		u := newUser(t)
		u.get(d.URL + "/lang/ca?return=/")
		u.signIn(d.URL, c)
		u.grant(d.URL, "census.aid-recommendation")
		if s := u.fetchData(d.URL); s != http.StatusOK {
			t.Fatalf("fetch: %d", s)
		}
		users[i] = u
	}
	// Without consent to alerts, subscribing is refused and nothing kept.
	if s := users[0].subscribe(d.URL, url.Values{"channel": {"email"}, "email": {"a@example.org"}}); s != http.StatusConflict {
		t.Fatalf("subscribe without consent: %d", s)
	}
	for i, u := range users {
		u.grant(d.URL, "census.proactive-alerts")
		form := url.Values{"channel": {"email"}, "email": {fmt.Sprintf("citizen%d@example.org", i)}, "quiet_from": {""}, "quiet_to": {""}}
		if i == 3 {
			form.Set("quiet_from", quietFrom)
			form.Set("quiet_to", quietTo)
		}
		if s := u.subscribe(d.URL, form); s != http.StatusOK || !strings.Contains(u.url, "done=alerts_subscribed") {
			t.Fatalf("subscribe %d: %d %s", i, s, u.page)
		}
	}
	if s := users[0].subscribe(d.URL, url.Values{"channel": {"push"}, "subscription": {push.subscription("/push/0")}}); s != http.StatusOK {
		t.Fatalf("push subscription: %d %s", s, users[0].page)
	}
	users[0].mustSee("citizen0@example.org", push.srv.Listener.Addr().String())
	// Each address is sent a link to confirm it; until then nothing else.
	confirmations := d.Dev.Mail.Wait(4, 30*time.Second)
	if len(confirmations) != 4 {
		t.Fatalf("%d confirmation e-mails, want 4", len(confirmations))
	}
	confirmAddress(t, d, "citizen0@example.org")
	confirmAddress(t, d, "citizen3@example.org")
	// What the citizen gets of everything held includes the subscriptions.
	users[0].get(d.URL + "/folder/export.json")
	var x struct {
		Alerts []struct{ Channel, Target string } `json:"alert_subscriptions"`
	}
	if err := json.Unmarshal([]byte(users[0].page), &x); err != nil || len(x.Alerts) != 2 ||
		x.Alerts[0].Target != "citizen0@example.org" || x.Alerts[1].Channel != "push" {
		t.Fatalf("export: %v %+v", err, x.Alerts)
	}
	users[0].get(d.URL + "/folder/export")
	users[0].mustSee("correu electrònic: citizen0@example.org")
	// Bad input: a bad address, bad quiet hours: a clear page, nothing kept.
	if s := users[0].subscribe(d.URL, url.Values{"channel": {"email"}, "email": {"not an address"}}); s != http.StatusBadRequest {
		t.Fatalf("bad address: %d", s)
	}
	users[0].mustSee("no és vàlida", "citizen0@example.org")
	if s := users[0].subscribe(d.URL, url.Values{"channel": {"email"}, "email": {"x@example.org"}, "quiet_from": {"25:00"}, "quiet_to": {"07:00"}}); s != http.StatusBadRequest {
		t.Fatalf("bad quiet hours: %d", s)
	}

	// Citizen 1 withdraws the consent to alerts: the subscription goes.
	u1 := users[1]
	u1.get(d.URL + "/folder/consent")
	if m := withdrawForm.FindStringSubmatch(u1.page); m == nil {
		t.Fatal("no withdraw form")
	} else if s := u1.post(d.URL+m[1], url.Values{"csrf": {u1.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("withdraw: %d", s)
	}
	u1.get(d.URL + "/folder/alerts")
	u1.mustSee("Encara no rebeu avisos enlloc")
	// Citizen 2 objects to proactive profiling.
	u2 := users[2]
	u2.get(d.URL + "/folder/rights")
	if s := u2.post(d.URL+"/folder/objection", url.Values{"csrf": {u2.hidden("csrf")}, "object": {"1"}}); s != http.StatusOK {
		t.Fatalf("objection: %d", s)
	}
	idle(t, d) // the baselines at subscription

	// An administration publishes an aid that fits every older citizen.
	gencat := adminClient(t, d, "sandbox-gencat")
	if s, p := call(t, gencat, http.MethodPost, d.URL+"/admin/v1/aids", alertTestAid("Una prova.")); s != http.StatusCreated {
		t.Fatalf("publish: %d %v", s, p)
	}
	idle(t, d)
	mail := d.Dev.Mail.Wait(5, 30*time.Second)[4:]
	if len(mail) != 1 || mail[0].To[0] != "citizen0@example.org" {
		for _, m := range mail {
			t.Logf("to %v", m.To)
		}
		t.Fatalf("%d messages, want 1 to citizen0", len(mail))
	}
	if n := push.count("/push/0"); n != 1 {
		t.Fatalf("%d pushes, want 1", n)
	}
	m, err := mail[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	raw := string(mail[0].Raw)
	subject, _ := mail[0].Subject()
	if subject != "Un ajut us pot correspondre: Ajut nou per a la gent gran" {
		t.Errorf("subject %q", subject)
	}
	for _, personal := range []string{cs[0].DocNumber, cs[0].Name, cs[0].Surname1} {
		if strings.Contains(raw, personal) {
			t.Errorf("the e-mail carries personal data %q", personal)
		}
	}
	if !strings.Contains(m.Header.Get("List-Unsubscribe"), "/alerts/unsubscribe?") || m.Header.Get("List-Unsubscribe-Post") == "" {
		t.Errorf("no one-click unsubscribe: %v", m.Header)
	}

	// The same alert is never sent twice: a new version of the aid (same
	// verdict) and a data refresh re-evaluate, and send nothing new.
	if s, p := change(t, gencat, http.MethodPut, d.URL+"/admin/v1/aids/ajut_avis_prova", alertTestAid("Una prova, corregida.")); s != http.StatusOK {
		t.Fatalf("update: %d %v", s, p)
	}
	users[0].fetchData(d.URL)
	idle(t, d)
	if n := len(d.Dev.Mail.Messages()) - 4; n != 1 || push.count("/push/0") != 1 {
		t.Fatalf("after re-evaluations: %d e-mails, %d pushes; want 1 and 1", n, push.count("/push/0"))
	}
	// Citizen 3's alert waits for the end of the quiet hours.
	res, err := d.Alerts.Client().JobList(ctx, river.NewJobListParams().Kinds(alerts.DeliverArgs{}.Kind()).
		States(rivertype.JobStateScheduled).First(10))
	if err != nil || len(res.Jobs) != 1 || !res.Jobs[0].ScheduledAt.After(time.Now().Add(30*time.Minute)) {
		var jobs []string
		for _, j := range res.Jobs {
			jobs = append(jobs, fmt.Sprintf("%s %s until %s attempt %d %v", j.EncodedArgs, j.State, j.ScheduledAt.Format(time.RFC3339), j.Attempt, j.Errors))
		}
		t.Fatalf("snoozed alert: %v, jobs %q", err, jobs)
	}

	// The citizen sees the uses and the alert in their access history.
	es, err := d.Audit.EntriesOf(ctx, subjectOf(t, d, users[0]), audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range es {
		if e.Kind == "facts.use" && e.Purpose == alerts.Purpose {
			kinds["use"]++
		}
		kinds[e.Kind]++
	}
	if kinds["use"] == 0 || kinds[alerts.KindSent] != 2 || kinds[alerts.KindSubscribe] != 2 {
		t.Errorf("access history: %v", kinds)
	}
	users[0].get(d.URL + "/folder/access")
	users[0].mustSee("Avís enviat")

	// The link in the e-mail: a bad token is refused; GET asks; a one-click
	// POST unsubscribes.
	link := unsubscribeLink.FindString(textOf(t, raw))
	if link == "" {
		t.Fatalf("no unsubscribe link in:\n%s", raw)
	}
	if strings.Contains(link, subjectOf(t, d, users[0])) {
		t.Errorf("the unsubscribe link carries the citizen's pseudonym: %s", link)
	}
	users[0].get(d.URL + "/folder/alerts")
	if s := users[0].post(d.URL+"/folder/alerts/fax/delete", url.Values{"csrf": {users[0].hidden("csrf")}}); s != http.StatusNotFound {
		t.Errorf("unknown channel: %d", s)
	}
	anon := newUser(t)
	if s := anon.get(link[:len(link)-4] + "AAAA"); s != http.StatusBadRequest {
		t.Errorf("bad token: %d", s)
	}
	if s := anon.get(link); s != http.StatusOK {
		t.Fatalf("unsubscribe page: %d", s)
	}
	req, _ := http.NewRequest(http.MethodPost, link, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s := anon.do(req); s != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d", s)
	}
	users[0].get(d.URL + "/folder/alerts")
	if strings.Contains(users[0].page, "citizen0@example.org") || !strings.Contains(users[0].page, push.srv.Listener.Addr().String()) {
		t.Fatalf("after unsubscribing the e-mail:\n%s", users[0].page)
	}
}

// alertTestAid is a publication of an aid every citizen of 65 or more is
// eligible for.
func alertTestAid(summary string) map[string]any {
	t3 := func(ca, es, en string) map[string]string { return map[string]string{"ca": ca, "es": es, "en": en} }
	rule := "package obert.aids.ajut_avis_prova\n\nimport rego.v1\n\nimport data.obert.aids.lib\n\ncriteria[\"over-65\"] := lib.age >= 65\n"
	tests := "package obert.aids.ajut_avis_prova_test\n\nimport rego.v1\n\nimport data.obert.aids.ajut_avis_prova as aid\n\n" +
		"test_old if {\n\tc := aid.criteria with input as {\"today\": \"2026-11-24\", \"facts\": {\"census\": {\"birth_date\": \"1940-01-01\"}}}\n\tc[\"over-65\"]\n}\n\n" +
		"test_young if {\n\tc := aid.criteria with input as {\"today\": \"2026-11-24\", \"facts\": {\"census\": {\"birth_date\": \"1990-01-01\"}}}\n\tc[\"over-65\"] == false\n}\n"
	return map[string]any{"aid": map[string]any{"id": "ajut_avis_prova", "level": "generalitat",
		"title":   t3("Ajut nou per a la gent gran", "Ayuda nueva para la gente mayor", "New aid for older people"),
		"summary": t3(summary, summary, summary), "legal_reference": "Exemple", "apply_url": "https://web.gencat.cat/",
		"valid_from": "2026-01-01", "valid_until": "2027-12-31", "categories": []string{"census"},
		"criteria": []map[string]any{{"name": "over-65", "category": "census", "text": t3("65 anys o més", "65 años o más", "65 or older")}}},
		"rule": rule, "tests": tests}
}

// subjectOf finds the signed-in user's pseudonym from their export.
func subjectOf(t *testing.T, d *devGateway, u *user) string {
	t.Helper()
	u.get(d.URL + "/folder/export.json")
	var x struct {
		Identity struct {
			Subject string `json:"pseudonym"`
		} `json:"identity"`
	}
	if err := json.Unmarshal([]byte(u.page), &x); err != nil || x.Identity.Subject == "" {
		t.Fatalf("export: %v %s", err, u.page)
	}
	return x.Identity.Subject
}

// textOf returns the decoded text/plain part of a raw message.
func textOf(t *testing.T, raw string) string {
	t.Helper()
	text, err := notify.Received{Raw: []byte(raw)}.Text()
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// TestAlertsOnlyToConfirmedAddresses: an address gets nothing but its
// confirmation link until its owner follows it; following the link shows a
// button and confirms nothing by itself; the link works once; a new link
// replaces the old; a changed address is confirmed again.
func TestAlertsOnlyToConfirmedAddresses(t *testing.T) {
	d := startDev(t)
	c := olderAlone(d, 1)[0]
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signIn(d.URL, c)
	u.grant(d.URL, "census.aid-recommendation")
	u.fetchData(d.URL)
	u.grant(d.URL, "census.proactive-alerts")
	if s := u.subscribe(d.URL, url.Values{"channel": {"email"}, "email": {"me@example.org"}, "quiet_from": {""}, "quiet_to": {""}}); s != http.StatusOK {
		t.Fatalf("subscribe: %d", s)
	}
	u.mustSee("You have not confirmed this address yet")
	idle(t, d)
	if s, p := call(t, adminClient(t, d, "sandbox-gencat"), http.MethodPost, d.URL+"/admin/v1/aids", alertTestAid("Una prova.")); s != http.StatusCreated {
		t.Fatalf("publish: %d %v", s, p)
	}
	idle(t, d)
	time.Sleep(500 * time.Millisecond)
	if ms := d.Dev.Mail.Messages(); len(ms) != 1 || !isConfirmation(t, ms[0]) {
		t.Fatalf("an unconfirmed address got %d messages", len(ms))
	}
	first := confirmLink.FindString(textOf(t, string(d.Dev.Mail.Messages()[0].Raw)))
	// A new link replaces the old one.
	u.get(d.URL + "/folder/alerts")
	if s := u.post(d.URL+"/folder/alerts/resend", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("resend: %d", s)
	}
	second := confirmLink.FindString(textOf(t, string(d.Dev.Mail.Wait(2, 30*time.Second)[1].Raw)))
	v := newUser(t)
	v.get(d.URL + "/lang/en?return=/")
	v.get(first)
	if s := v.post(first, url.Values{}); s != http.StatusGone {
		t.Fatalf("the replaced link: %d", s)
	}
	// Opening the link confirms nothing; its button does, once.
	if s := v.get(second); s != http.StatusOK {
		t.Fatalf("the link's page: %d", s)
	}
	u.get(d.URL + "/folder/alerts")
	u.mustSee("You have not confirmed this address yet")
	if s := v.post(second, url.Values{}); s != http.StatusOK {
		t.Fatalf("confirm: %d", s)
	}
	v.mustSee("Address confirmed")
	if s := v.post(second, url.Values{}); s != http.StatusGone {
		t.Fatalf("the link used twice: %d", s)
	}
	u.get(d.URL + "/folder/alerts")
	if strings.Contains(u.page, "You have not confirmed this address yet") {
		t.Fatal("the confirmed address is still said to be unconfirmed")
	}
	// The same address again stays confirmed; another is asked anew.
	u.subscribe(d.URL, url.Values{"channel": {"email"}, "email": {"me@example.org"}, "quiet_from": {""}, "quiet_to": {""}})
	if strings.Contains(u.page, "You have not confirmed this address yet") || len(d.Dev.Mail.Messages()) != 2 {
		t.Fatal("re-subscribing the confirmed address asked to confirm it again")
	}
	u.subscribe(d.URL, url.Values{"channel": {"email"}, "email": {"other@example.org"}, "quiet_from": {""}, "quiet_to": {""}})
	u.mustSee("You have not confirmed this address yet")
	if ms := d.Dev.Mail.Wait(3, 30*time.Second); len(ms) != 3 || ms[2].To[0] != "other@example.org" || !isConfirmation(t, ms[2]) {
		t.Fatal("the new address was not sent its confirmation")
	}
}

// TestAFetchQueuesAReevaluationOnlyForSubscribers: the data a subscribed
// citizen fetches queues their re-evaluation for alerts (whether they
// subscribed is read with the facts as they are kept); a citizen who did
// not subscribe queues nothing.
func TestAFetchQueuesAReevaluationOnlyForSubscribers(t *testing.T) {
	ctx := context.Background()
	d := startDev(t)
	cs := olderAlone(d, 2)
	var users []*user
	for i, c := range cs {
		u := newUser(t)
		u.get(d.URL + "/lang/en?return=/")
		u.signIn(d.URL, c)
		u.grant(d.URL, "census.aid-recommendation")
		if i == 0 {
			u.grant(d.URL, "census.proactive-alerts")
			if s := u.subscribe(d.URL, url.Values{"channel": {"email"}, "email": {"me@example.org"}, "quiet_from": {""}, "quiet_to": {""}}); s != http.StatusOK {
				t.Fatalf("subscribe: %d", s)
			}
		}
		users = append(users, u)
	}
	reevaluations := func(subject string) int {
		t.Helper()
		res, err := d.Alerts.Client().JobList(ctx, river.NewJobListParams().Kinds(alerts.EvaluateArgs{}.Kind()).First(100))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, j := range res.Jobs {
			var a alerts.EvaluateArgs
			if json.Unmarshal(j.EncodedArgs, &a) == nil && a.Subject == subject && !a.Baseline {
				n++
			}
		}
		return n
	}
	for i, u := range users {
		subject := subjectOf(t, d, u)
		if n := reevaluations(subject); n != 0 {
			t.Fatalf("citizen %d: %d re-evaluations before any fetch", i, n)
		}
		if s := u.fetchData(d.URL); s != http.StatusOK {
			t.Fatalf("fetch: %d", s)
		}
		u.mustSee(`class="result ok"`)
		if n, want := reevaluations(subject), 1-i; n != want {
			t.Errorf("citizen %d (subscribed: %v): %d re-evaluations after a fetch, want %d", i, i == 0, n, want)
		}
	}
}
