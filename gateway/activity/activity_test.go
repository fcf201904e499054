package activity_test

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/gateway/activity"
)

var asOf = time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC)

// memStore keeps acknowledgements in memory.
type memStore struct {
	mu   sync.Mutex
	acks []activity.Acknowledgement
}

func (m *memStore) PutAcknowledgement(_ context.Context, a activity.Acknowledgement) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.acks {
		if x.Principal == a.Principal && x.Source == a.Source && x.Notification == a.Notification {
			return activity.ErrDecided
		}
	}
	m.acks = append(m.acks, a)
	return nil
}

func (m *memStore) Acknowledgements(_ context.Context, subject string) ([]activity.Acknowledgement, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []activity.Acknowledgement
	for _, a := range m.acks {
		if a.Principal == subject {
			out = append(out, a)
		}
	}
	return out, nil
}

// memLog records entries, or refuses them all when down.
type memLog struct {
	mu      sync.Mutex
	entries []audit.Entry
	down    bool
}

func (l *memLog) RecordAll(_ context.Context, es []audit.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		return errors.New("log down")
	}
	l.entries = append(l.entries, es...)
	return nil
}

type rig struct {
	sim    *sim.Server
	svc    *activity.Service
	log    *memLog
	signer *activity.AckSigner
	who    activity.Citizen
	now    *time.Time
}

// newRig runs the real simulator and a service reading both its sources;
// requesterTrusted false signs with a key the simulator does not trust,
// sourceCert false expects answers from another certificate.
func newRig(t *testing.T, requesterTrusted, sourceCert bool) *rig {
	t.Helper()
	simKey, simCert, _ := scsp.NewSelfSigned("via-oberta-sim", asOf)
	gwKey, gwCert, _ := scsp.NewSelfSigned("obert", asOf)
	_, otherCert, _ := scsp.NewSelfSigned("other", asOf)
	pop := sim.NewPopulation(7, 20, asOf)
	trusted := []*x509.Certificate{gwCert}
	if !requesterTrusted {
		trusted = []*x509.Certificate{otherCert}
	}
	now := asOf
	s, err := sim.NewServer(sim.Config{Population: pop, Key: simKey, Cert: simCert, Trusted: trusted, HeaderFaults: true,
		Now: func() time.Time { return asOf }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	certs := []*x509.Certificate{simCert}
	if !sourceCert {
		certs = []*x509.Certificate{otherCert}
	}
	clock := func() time.Time { return now }
	src := func(id, kind string) activity.Source {
		return activity.Source{ID: id, Kind: kind, Endpoint: ts.URL + "/activity/" + kind, HTTP: ts.Client(),
			Signer: scsp.Signer{Key: gwKey, Cert: gwCert}, Certs: certs, Now: clock}
	}
	signer, err := activity.NewAckSigner(ed25519.NewKeyFromSeed(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	log := &memLog{}
	svc, err := activity.New(activity.Config{Sources: []activity.Source{src("etram", activity.Applications), src("enotum", activity.Notifications)},
		Store: &memStore{}, Audit: log, Signer: signer, Requester: "obert", Now: clock, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := pop.Citizens()[0]
	return &rig{sim: s, svc: svc, log: log, signer: signer, now: &now,
		who: activity.Citizen{Subject: "subj-1", LoA: "substantial", DocType: c.DocType, DocNumber: c.DocNumber}}
}

func TestOverviewAuditsEveryRead(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, true)
	ov, err := r.svc.Overview(context.Background(), r.who)
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.Applications) < 2 || len(ov.Notifications) != 3 || len(ov.Failed) != 0 {
		t.Fatalf("overview: %d applications, %d notifications, failed %v", len(ov.Applications), len(ov.Notifications), ov.Failed)
	}
	for _, n := range ov.Notifications {
		if n.Content != nil {
			t.Fatalf("notification %s shows content before it was accepted", n.ID)
		}
	}
	if len(r.log.entries) != 2 {
		t.Fatalf("%d audit entries, want one per source", len(r.log.entries))
	}
	for _, e := range r.log.entries {
		if e.Kind != activity.KindRead || e.Subject != "subj-1" || e.LegalBasis != activity.LegalBasis || e.Outcome != "ok" ||
			(e.Category != activity.Applications && e.Category != activity.Notifications) {
			t.Fatalf("entry %+v", e)
		}
	}
}

func TestAuditDownShowsNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, true)
	r.log.down = true
	ov, err := r.svc.Overview(context.Background(), r.who)
	if !errors.Is(err, activity.ErrAuditUnavailable) || len(ov.Applications)+len(ov.Notifications) != 0 {
		t.Fatalf("with the log down: %v, %+v", err, ov)
	}
	n := firstPending(t, newRig(t, true, true))
	if _, err := r.svc.Decide(context.Background(), r.who, "enotum", n.ID, activity.Accepted); !errors.Is(err, activity.ErrAuditUnavailable) {
		t.Fatalf("accepting with the log down: %v", err)
	}
	if got := r.sim.ActivityDecisions(); got != 0 {
		t.Fatalf("the source was told %d decisions while the log was down", got)
	}
}

func TestSignaturesBothWays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                string
		trusted, sourceCert bool
	}{{"untrusted requester", false, true}, {"answer from another key", true, false}} {
		r := newRig(t, tc.trusted, tc.sourceCert)
		ov, err := r.svc.Overview(context.Background(), r.who)
		if err != nil {
			t.Fatal(err)
		}
		if len(ov.Failed) != 2 || len(ov.Applications)+len(ov.Notifications) != 0 {
			t.Fatalf("%s: %+v", tc.name, ov)
		}
		for _, f := range ov.Failed {
			if !errors.Is(f.Err, activity.ErrSource) {
				t.Fatalf("%s: %v", tc.name, f.Err)
			}
		}
	}
	// An answer changed after it was signed is refused too.
	r := newRig(t, true, true)
	r.sim.SetFault(sim.FaultSignature)
	if ov, err := r.svc.Overview(context.Background(), r.who); err != nil || len(ov.Failed) != 2 {
		t.Fatalf("tampered answers: %v %+v", err, ov)
	}
}

func TestSourceFaultShowsTheRest(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, true)
	r.sim.SetActivityFault(sim.ActivityNotifications, sim.FaultHTTP503)
	ov, err := r.svc.Overview(context.Background(), r.who)
	if err != nil {
		t.Fatal(err)
	}
	if len(ov.Applications) == 0 || len(ov.Notifications) != 0 || len(ov.Failed) != 1 || ov.Failed[0].Source != "enotum" {
		t.Fatalf("with e-NOTUM down: %+v", ov)
	}
	if i := slices.IndexFunc(r.log.entries, func(e audit.Entry) bool { return e.Source == "enotum" }); i < 0 ||
		r.log.entries[i].Outcome != "error" || r.log.entries[i].Error != "unavailable" {
		t.Fatalf("the failed read is not recorded as such: %+v", r.log.entries)
	}
	r.sim.SetActivityFault(sim.ActivityNotifications, sim.FaultLatency) // slower than the 2 s the rig allows
	if ov, err := r.svc.Overview(context.Background(), r.who); err != nil || len(ov.Failed) != 1 {
		t.Fatalf("slow source: %v %+v", err, ov.Failed)
	}
}

func firstPending(t *testing.T, r *rig) activity.Notification {
	t.Helper()
	ov, err := r.svc.Overview(context.Background(), r.who)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ov.Notifications {
		if n.State == activity.Pending {
			return n
		}
	}
	t.Fatalf("no pending notification: %+v", ov.Notifications)
	return activity.Notification{}
}

func TestAcceptAndReject(t *testing.T) {
	t.Parallel()
	r := newRig(t, true, true)
	ctx := context.Background()
	ov, _ := r.svc.Overview(ctx, r.who)
	var pending []activity.Notification
	for _, n := range ov.Notifications {
		if n.State == activity.Pending {
			pending = append(pending, n)
		}
	}
	if len(pending) != 2 {
		t.Fatalf("want two pending notifications, got %+v", ov.Notifications)
	}
	low := r.who
	low.LoA = "low"
	if _, err := r.svc.Decide(ctx, low, "enotum", pending[0].ID, activity.Accepted); !errors.Is(err, activity.ErrLevelTooLow) {
		t.Fatalf("accept at level low: %v", err)
	}
	n, err := r.svc.Decide(ctx, r.who, "enotum", pending[0].ID, activity.Accepted)
	if err != nil || n.State != activity.Accepted || n.Content.In("en") == "" {
		t.Fatalf("accept: %v %+v", err, n)
	}
	if _, err := r.svc.Decide(ctx, r.who, "enotum", pending[1].ID, activity.Rejected); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Decide(ctx, r.who, "enotum", pending[1].ID, activity.Accepted); !errors.Is(err, activity.ErrDecided) {
		t.Fatalf("accepting a rejected notification: %v", err)
	}
	ov, _ = r.svc.Overview(ctx, r.who)
	states := map[string]activity.Notification{}
	for _, n := range ov.Notifications {
		states[n.ID] = n
	}
	if a := states[pending[0].ID]; a.State != activity.Accepted || a.Content == nil {
		t.Fatalf("accepted: %+v", a)
	}
	if b := states[pending[1].ID]; b.State != activity.Rejected || b.Content != nil {
		t.Fatalf("rejected: %+v", b)
	}
	ov, _ = r.svc.Overview(ctx, low)
	for _, n := range ov.Notifications {
		if n.Content != nil {
			t.Fatalf("content shown at level low: %+v", n)
		}
	}
	doc, err := r.svc.Acknowledgement(ctx, r.who.Subject, "enotum", pending[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := activity.VerifyAck(doc, r.signer.PublicKeys())
	if err != nil || ack.Decision != activity.Accepted || ack.Principal != "subj-1" || ack.ContentSHA256 == "" || !ack.DecidedAt.Equal(asOf) {
		t.Fatalf("acknowledgement: %v %+v", err, ack)
	}
	other, _ := activity.NewAckSigner(ed25519.NewKeyFromSeed([]byte("another key of thirty-two bytes!")))
	if _, err := activity.VerifyAck(doc, other.PublicKeys()); !errors.Is(err, activity.ErrBadAck) {
		t.Fatalf("verified with another key: %v", err)
	}
	if _, err := r.svc.Acknowledgement(ctx, "someone-else", "enotum", pending[0].ID); !errors.Is(err, activity.ErrNotFound) {
		t.Fatalf("another citizen's acknowledgement: %v", err)
	}
	// Each decision is an entry before the source is told and one with
	// its outcome; the refused one says why.
	kinds := map[string]int{}
	for _, e := range r.log.entries {
		kinds[e.Kind+" "+e.Outcome+" "+e.Error]++
	}
	if kinds["activity.accept pending "] != 2 || kinds["activity.accept ok "] != 1 || kinds["activity.accept denied already-decided"] != 1 ||
		kinds["activity.reject pending "] != 1 || kinds["activity.reject ok "] != 1 {
		t.Fatalf("decision entries: %v", kinds)
	}
}

// The ten days, with an injected clock: a notification is pending until
// the end of the tenth calendar day after it was made available, in
// Madrid; then it counts as rejected and can no longer be accepted.
func TestTenDayRule(t *testing.T) {
	t.Parallel()
	mad := activity.Madrid()
	posted := time.Date(2026, 3, 20, 23, 30, 0, 0, mad) // late on the 20th, Madrid
	until := activity.OpenUntil(posted)
	if want := time.Date(2026, 3, 31, 0, 0, 0, 0, mad); !until.Equal(want) { // DST began on 29 March: still midnight
		t.Fatalf("open until %v, want %v", until, want)
	}
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 3, 30, 23, 59, 59, 0, mad), activity.Pending},
		{time.Date(2026, 3, 31, 0, 0, 0, 0, mad), activity.Expired},
	} {
		if got := activity.StateAt("", posted, tc.at); got != tc.want {
			t.Errorf("at %v: %s, want %s", tc.at, got, tc.want)
		}
	}
	if activity.StateAt(activity.Accepted, posted, until.AddDate(1, 0, 0)) != activity.Accepted {
		t.Error("a decision made in time changed later")
	}
	// Posted at 00:30 in Madrid is the previous day in UTC: Madrid's day counts.
	early := time.Date(2026, 6, 10, 0, 30, 0, 0, mad)
	if got := activity.OpenUntil(early); !got.Equal(time.Date(2026, 6, 21, 0, 0, 0, 0, mad)) {
		t.Fatalf("open until %v", got)
	}

	r := newRig(t, true, true)
	n := firstPending(t, r)
	*r.now = n.OpenUntil // the clock moves on to the first instant it counts as rejected
	ov, _ := r.svc.Overview(context.Background(), r.who)
	for _, x := range ov.Notifications {
		if x.ID == n.ID && x.State != activity.Expired {
			t.Fatalf("after ten days: %s", x.State)
		}
	}
	if _, err := r.svc.Decide(context.Background(), r.who, "enotum", n.ID, activity.Accepted); !errors.Is(err, activity.ErrExpired) {
		t.Fatalf("accepting after ten days: %v", err)
	}
}
