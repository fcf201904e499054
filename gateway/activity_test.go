package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/gateway/activity"
)

// signInAt goes through the development IdCAT provider choosing the level.
func (u *user) signInAt(base string, c sim.Citizen, level, ret string) {
	u.t.Helper()
	u.get(base + "/signin/idcat?return=" + url.QueryEscape(ret))
	auth := u.hidden("auth")
	idp := u.url[:strings.Index(u.url, "/authorize")]
	if s := u.post(idp+"/authorize", url.Values{"auth": {auth}, "acr": {level}, "citizen": {c.DocNumber}}); s != http.StatusOK {
		u.t.Fatalf("sign-in: %d %s", s, u.page)
	}
}

var decideForm = regexp.MustCompile(`action="(/folder/activity/enotum/[^"/]+)/accept"`)

// TestActivity: a citizen sees their applications and pending
// notifications (without content), accepts one (content shown, signed
// acknowledgement verifies), rejects another, finds every read and
// decision in the access log; a source down is named and the other shown;
// at level low they are offered to sign in again instead.
func TestActivity(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "single-parent")
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")

	// At level low: the notifications are listed, no button, and the page
	// offers to sign in again; a forged accept is refused.
	u.signInAt(d.URL, c, "low", "/folder/activity")
	if !strings.HasSuffix(u.url, "/folder/activity") {
		t.Fatalf("after sign-in at %s", u.url)
	}
	u.mustSee("My activity", "Applications", "Notifications", "Sign in again at a higher level",
		"/signin/idcat?loa=substantial&return=%2Ffolder%2Factivity")
	if decideForm.MatchString(u.page) {
		t.Fatal("accept offered at level low")
	}
	notes := sim.NotificationsOf(c, activityStart(d))
	if s := u.post(d.URL+"/folder/activity/enotum/"+notes[0].Id+"/accept", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusForbidden {
		t.Fatalf("accept at level low: %d", s)
	}

	// The step-up asks the provider for substantial: it offers nothing
	// lower, and an answer lower is refused anyway.
	u.get(d.URL + "/signin/idcat?loa=substantial&return=" + url.QueryEscape("/folder/activity"))
	if strings.Contains(u.page, `value="low"`) || !strings.Contains(u.url, "acr_values=substantial") {
		t.Fatalf("the step-up did not ask for substantial: %s", u.url)
	}
	auth := u.hidden("auth")
	idp := u.url[:strings.Index(u.url, "/authorize")]
	if s := u.post(idp+"/authorize", url.Values{"auth": {auth}, "acr": {"low"}, "citizen": {c.DocNumber}}); s != http.StatusOK ||
		!strings.HasSuffix(u.url, "/folder/activity") {
		t.Fatalf("step-up: %d %s", s, u.url)
	}
	if !decideForm.MatchString(u.page) {
		t.Fatal("after the step-up, accept is not offered")
	}

	// Signed in again at substantial.
	u.signInAt(d.URL, c, "substantial", "/folder/activity")
	u.mustSee(sim.ApplicationsOf(c, activityStart(d))[0].Tramit.EN, notes[0].Assumpte.EN, "Pending", "Open it by")
	for _, n := range notes {
		if strings.Contains(u.page, n.Contingut.EN) {
			t.Fatalf("content of %s shown before it was accepted", n.Id)
		}
	}
	m := decideForm.FindAllStringSubmatch(u.page, -1)
	if len(m) != 2 {
		t.Fatalf("want two pending notifications to accept, got %d:\n%s", len(m), u.page)
	}
	first, second := m[0][1], m[1][1]
	if s := u.post(d.URL+first+"/accept", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("accept: %d %s", s, u.page)
	}
	u.mustSee("You accepted the notification", "Accepted")
	var accepted sim.Notificacio
	for _, n := range notes {
		if strings.HasSuffix(first, "/"+n.Id) {
			accepted = n
		}
	}
	u.mustSee(accepted.Contingut.EN)
	if s := u.post(d.URL+second+"/reject", url.Values{"csrf": {u.hidden("csrf")}}); s != http.StatusOK {
		t.Fatalf("reject: %d %s", s, u.page)
	}
	u.mustSee("You rejected the notification", "Rejected")

	// The acknowledgement downloads and verifies against the published keys.
	if s := u.get(d.URL + first + "/acknowledgement"); s != http.StatusOK {
		t.Fatalf("acknowledgement: %d %s", s, u.page)
	}
	resp, err := http.Get(d.URL + "/activity/ack-keys")
	if err != nil {
		t.Fatal(err)
	}
	var keys jose.JSONWebKeySet
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	ack, err := activity.VerifyAck([]byte(u.page), keys)
	if err != nil || ack.Decision != activity.Accepted || ack.Notification != accepted.Id || ack.LoA != "substantial" {
		t.Fatalf("acknowledgement: %v %+v", err, ack)
	}
	if strings.Contains(u.page, c.DocNumber) {
		t.Fatal("the acknowledgement names the document number")
	}

	// Every read and decision is in the access log.
	u.get(d.URL + "/folder/access")
	u.mustSee("Look-up of your own dealings", "Notification accepted", "Notification rejected", "e-NOTUM (AOC Consortium)",
		"e-TRAM (AOC Consortium)", activity.LegalBasis)

	// e-NOTUM down: the page names it and shows the applications.
	d.Dev.Sim.SetActivityFault(sim.ActivityNotifications, sim.FaultHTTP503)
	if s := u.get(d.URL + "/folder/activity"); s != http.StatusOK {
		t.Fatalf("with e-NOTUM down: %d", s)
	}
	u.mustSee("e-NOTUM (AOC Consortium) did not answer", sim.ApplicationsOf(c, activityStart(d))[0].Tramit.EN)
	if strings.Contains(u.page, "e-TRAM (AOC Consortium) did not answer") {
		t.Fatal("e-TRAM named as failed")
	}
}

// activityStart is the day the simulator anchors its histories to.
func activityStart(d *devGateway) time.Time { return d.Dev.Sim.ActivityStart() }

// TestAdminRegistersAnActivitySource: an administration registers its own
// notifications service through the administrations' API (kind
// notifications), tested with a sandbox call; citizens then see its
// notifications on My activity under its name, beside Obert's own; once
// deactivated it is read no more. Bad registrations change nothing.
func TestAdminRegistersAnActivitySource(t *testing.T) {
	d := startDev(t)
	c := d.citizenOf(t, "single-parent")
	resp, err := http.Get(d.Dev.SimURL + "/certificate")
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	name := func(n string) map[string]string { return map[string]string{"source": n} }
	reg := map[string]any{"kind": "notifications", "id": "notificacions-ajbcn", "source": "ajbcn-notificacions",
		"endpoint": d.Dev.SimURL + "/activity/notifications", "certificate": string(cert),
		"texts":   map[string]any{"ca": name("Notificacions de l'Ajuntament"), "es": name("Notificaciones del Ayuntamiento"), "en": name("City Council notifications")},
		"sandbox": map[string]string{"doc_type": c.DocType, "doc_number": c.DocNumber}}
	ajbcn := adminClient(t, d, "sandbox-ajbcn")
	base := d.URL + "/admin/v1/connectors"
	for what, change := range map[string]func(m map[string]any){
		"Obert's own source code": func(m map[string]any) { m["source"] = "enotum" },
		"a category":              func(m map[string]any) { m["category"] = "census" },
		"no name for citizens":    func(m map[string]any) { m["texts"] = map[string]any{} },
		"an unknown kind":         func(m map[string]any) { m["kind"] = "letters" },
	} {
		bad := map[string]any{}
		for k, v := range reg {
			bad[k] = v
		}
		change(bad)
		if s, p := call(t, ajbcn, http.MethodPost, base, bad); s != http.StatusBadRequest {
			t.Errorf("%s: %d %v", what, s, p)
		}
	}
	if s, p := call(t, ajbcn, http.MethodPost, base, reg); s != http.StatusCreated {
		t.Fatalf("register: %d %v", s, p)
	}
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signInAt(d.URL, c, "substantial", "/folder/activity")
	u.mustSee(`action="/folder/activity/ajbcn-notificacions/`, `action="/folder/activity/enotum/`)
	if s, _ := change(t, ajbcn, http.MethodDelete, base+"/notificacions-ajbcn", nil); s != http.StatusOK {
		t.Fatalf("deactivate: %d", s)
	}
	u.get(d.URL + "/folder/activity")
	if strings.Contains(u.page, "ajbcn-notificacions") {
		t.Fatal("a deactivated source is still read")
	}
	// Its reads were recorded under its name.
	u.get(d.URL + "/folder/access")
	u.mustSee("City Council notifications")
}

// TestActivityNotices: a citizen asks to be told by e-mail when a
// notification waits; a round sends one e-mail per waiting notification
// that says only that (not its subject, its sender or its content), the
// next round sends nothing again, and once they stop, nothing more.
func TestActivityNotices(t *testing.T) {
	ctx := context.Background()
	d := startDev(t)
	c := d.citizenOf(t, "single-parent")
	u := newUser(t)
	u.get(d.URL + "/lang/en?return=/")
	u.signInAt(d.URL, c, "substantial", "/folder/activity")
	u.mustSee("E-mail notice of notifications")
	if s := u.post(d.URL+"/folder/activity/notice", url.Values{"csrf": {u.hidden("csrf")}, "email": {"not an address"}}); s != http.StatusBadRequest {
		t.Fatalf("a bad address: %d", s)
	}
	u.get(d.URL + "/folder/activity")
	if s := u.post(d.URL+"/folder/activity/notice", url.Values{"csrf": {u.hidden("csrf")}, "email": {"carer@example.org"}}); s != http.StatusOK {
		t.Fatalf("ask for notices: %d", s)
	}
	u.mustSee("We will write to carer@example.org")
	before := len(d.Dev.Mail.Messages())
	n, err := d.ActivityNotices(ctx)
	if err != nil || n == 0 {
		t.Fatalf("a round: %d sent, %v", n, err)
	}
	msgs := d.Dev.Mail.Messages()[before:]
	if len(msgs) != n {
		t.Fatalf("%d e-mails received, %d sent", len(msgs), n)
	}
	pending := 0
	for _, x := range sim.NotificationsOf(c, activityStart(d)) {
		for _, m := range msgs {
			text, _ := m.Text()
			if strings.Contains(text, x.Assumpte.EN) || strings.Contains(text, x.Assumpte.CA) {
				t.Fatalf("the notice tells what the notification is about:\n%s", text)
			}
		}
		pending++
	}
	if pending == 0 {
		t.Fatal("no notifications to be told of")
	}
	text, _ := msgs[0].Text()
	if m := msgs[0]; m.To[0] != "carer@example.org" || !strings.Contains(text, "/folder/activity") {
		t.Fatalf("the notice: %v\n%s", m.To, text)
	}
	if n, err := d.ActivityNotices(ctx); err != nil || n != 0 {
		t.Fatalf("a second round sent %d again (%v)", n, err)
	}
	u.get(d.URL + "/folder/activity")
	if s := u.post(d.URL+"/folder/activity/notice", url.Values{"csrf": {u.hidden("csrf")}, "delete": {"1"}}); s != http.StatusOK {
		t.Fatalf("stop notices: %d", s)
	}
	u.mustSee("We will no longer e-mail you")
}
