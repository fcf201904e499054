package sim_test

import (
	"bytes"
	"crypto/x509"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
)

type activityRig struct {
	url    string
	sim    *sim.Server
	pop    *sim.Population
	signer scsp.Signer
	cert   *x509.Certificate // the simulator's
}

func newActivityRig(t *testing.T) activityRig {
	t.Helper()
	simKey, simCert, _ := scsp.NewSelfSigned("via-oberta-sim", asOf)
	gwKey, gwCert, _ := scsp.NewSelfSigned("obert-gateway", asOf)
	pop := sim.NewPopulation(7, 50, asOf)
	s, err := sim.NewServer(sim.Config{Population: pop, Key: simKey, Cert: simCert, Trusted: []*x509.Certificate{gwCert},
		HeaderFaults: true, Latency: 100 * time.Millisecond, Now: func() time.Time { return asOf }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return activityRig{url: ts.URL, sim: s, pop: pop, signer: scsp.Signer{Key: gwKey, Cert: gwCert}, cert: simCert}
}

// post signs msg with signer and posts it; it returns the status and the
// verified answer (nil when the answer is not one).
func (r activityRig) post(t *testing.T, path string, signer scsp.Signer, msg any, fault string) (int, *sim.ActivityAnswer) {
	t.Helper()
	body, _ := xml.Marshal(msg)
	env, err := signer.Envelope(body, asOf)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, r.url+path, bytes.NewReader(env))
	if fault != "" {
		req.Header.Set("X-Sim-Fault", fault)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	answer, _, err := scsp.VerifyPayload(raw, []*x509.Certificate{r.cert})
	if err != nil {
		return resp.StatusCode, nil
	}
	var a sim.ActivityAnswer
	if err := answer.Decode(&a); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, &a
}

func TestActivityListsSignedBothWays(t *testing.T) {
	t.Parallel()
	r := newActivityRig(t)
	c := r.pop.Citizens()[3]
	ask := func(kind string) sim.ActivityRequest {
		return sim.ActivityRequest{IdPeticio: "P-" + kind, Consulta: kind, TipusDocumentacio: c.DocType, Documentacio: c.DocNumber, Finalitat: "own-dealings"}
	}
	_, apps := r.post(t, "/activity/applications", r.signer, ask(sim.ActivityApplications), "")
	if apps == nil || apps.Estat != "ok" || apps.IdPeticio != "P-applications" || len(apps.Expedients) < 2 {
		t.Fatalf("applications: %+v", apps)
	}
	mad, _ := time.LoadLocation("Europe/Madrid")
	if want := sim.ApplicationsOf(c, time.Date(2026, 11, 24, 0, 0, 0, 0, mad)); !reflect.DeepEqual(apps.Expedients, want) {
		t.Fatalf("served %+v, want the citizen's own %+v", apps.Expedients, want)
	}
	_, notes := r.post(t, "/activity/notifications", r.signer, ask(sim.ActivityNotifications), "")
	if notes == nil || len(notes.Notificacions) != 3 {
		t.Fatalf("notifications: %+v", notes)
	}
	for _, n := range notes.Notificacions {
		if n.Contingut != nil || n.Decisio != "" {
			t.Fatalf("an undecided notification travels with its content: %+v", n)
		}
	}
	// A request signed by a key the simulator does not trust is refused.
	otherKey, otherCert, _ := scsp.NewSelfSigned("intruder", asOf)
	if status, a := r.post(t, "/activity/applications", scsp.Signer{Key: otherKey, Cert: otherCert}, ask(sim.ActivityApplications), ""); status != http.StatusInternalServerError || a != nil {
		t.Fatalf("untrusted requester: %d %+v", status, a)
	}
	// A tampered answer does not verify.
	if _, a := r.post(t, "/activity/applications", r.signer, ask(sim.ActivityApplications), sim.FaultSignature); a != nil {
		t.Fatal("a tampered answer verified")
	}
	// Faults on demand.
	if status, _ := r.post(t, "/activity/notifications", r.signer, ask(sim.ActivityNotifications), sim.FaultHTTP503); status != http.StatusServiceUnavailable {
		t.Fatalf("unavailable: %d", status)
	}
	start := time.Now()
	if _, a := r.post(t, "/activity/notifications", r.signer, ask(sim.ActivityNotifications), sim.FaultLatency); a == nil || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("slow: %v", time.Since(start))
	}
	// One kind failed, the other still answers.
	r.sim.SetActivityFault(sim.ActivityNotifications, sim.FaultHTTP503)
	if status, _ := r.post(t, "/activity/notifications", r.signer, ask(sim.ActivityNotifications), ""); status != http.StatusServiceUnavailable {
		t.Fatalf("notifications with their fault: %d", status)
	}
	if _, a := r.post(t, "/activity/applications", r.signer, ask(sim.ActivityApplications), ""); a == nil {
		t.Fatal("applications failed with the notifications' fault")
	}
}

func TestActivityDeterministic(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	a, b := sim.NewPopulation(11, 30, asOf), sim.NewPopulation(11, 30, asOf)
	for i, c := range a.Citizens() {
		d := b.Citizens()[i]
		if !reflect.DeepEqual(sim.ApplicationsOf(c, start), sim.ApplicationsOf(d, start)) ||
			!reflect.DeepEqual(sim.NotificationsOf(c, start), sim.NotificationsOf(d, start)) {
			t.Fatalf("citizen %d differs between two populations of the same seed", i)
		}
		for _, e := range sim.ApplicationsOf(c, start) {
			if e.Historial[0].Data != e.Inici || e.Estat != e.Historial[len(e.Historial)-1].Estat {
				t.Fatalf("application %s: history %+v does not lead to %s", e.Id, e.Historial, e.Estat)
			}
		}
	}
}

func TestActivityDecisions(t *testing.T) {
	t.Parallel()
	r := newActivityRig(t)
	c := r.pop.Citizens()[0]
	notes := sim.NotificationsOf(c, asOf)
	decide := func(id, what string, at time.Time) *sim.ActivityAnswer {
		_, a := r.post(t, "/activity/notifications/decide", r.signer, sim.DecisionRequest{IdPeticio: "D-" + id + what,
			TipusDocumentacio: c.DocType, Documentacio: c.DocNumber, IdNotificacio: id, Decisio: what, Data: at.Format(time.RFC3339)}, "")
		if a == nil {
			t.Fatal("no verified answer")
		}
		return a
	}
	a := decide(notes[0].Id, "accepted", asOf)
	if a.Estat != "ok" || len(a.Notificacions) != 1 || a.Notificacions[0].Contingut == nil || a.Notificacions[0].Decisio != "accepted" {
		t.Fatalf("accept: %+v", a)
	}
	if a := decide(notes[0].Id, "rejected", asOf); a.Estat != "already-decided" {
		t.Fatalf("reject after accepting: %s", a.Estat)
	}
	if a := decide(notes[1].Id, "rejected", asOf); a.Estat != "ok" || a.Notificacions[0].Contingut != nil {
		t.Fatalf("reject: %+v", a)
	}
	// The oldest was made available 14 or more days before: ten days passed.
	if a := decide(notes[2].Id, "accepted", asOf); a.Estat != "expired" {
		t.Fatalf("accepting after ten days: %s", a.Estat)
	}
	if a := decide("NOT-nope", "accepted", asOf); a.Estat != "unknown-notification" {
		t.Fatalf("unknown: %s", a.Estat)
	}
}
