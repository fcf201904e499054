package alerts_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/notify"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/store/storetest"
)

// mailBox is an SMTP server on loopback, closed with the test, and a mailer
// that delivers to it.
func mailBox(t *testing.T) (*notify.Sink, *notify.Mailer) {
	t.Helper()
	sink, err := notify.StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	mailer, err := notify.NewMailer(sink.URL("avisos@obert.example"))
	if err != nil {
		t.Fatal(err)
	}
	return sink, mailer
}

// waitIdle returns when no job of kinds is left to run.
func waitIdle(t testing.TB, svc *alerts.Service, kinds ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		res, err := svc.Client().JobList(context.Background(), river.NewJobListParams().Kinds(kinds...).States(openStates...).First(1))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Jobs) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("jobs %v still open", kinds)
}

// TestDateReminders: ahead of an aid's deadline, those told of the aid are
// reminded once; ahead of the end of the alerts consent, its holder is
// asked to renew once; a citizen whose consent was withdrawn hears
// nothing, even with a reminder due. On both stores.
func TestDateReminders(t *testing.T) {
	ctx := context.Background()
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			h := newHarness(t, be.Open(t), 4)
			sink, mailer := mailBox(t)
			st, now := h.st, h.now
			// The aid ends in a week; citizens 0 and 1 were told of it.
			if err := h.rc.Publish(ctx, sweepAid("x", now.AddDate(0, 0, 7).Format(time.DateOnly))); err != nil {
				t.Fatal(err)
			}
			// (Its sweep is done: only the dates job runs here.)
			st.QueueSweep(ctx, "ajut_sweep", h.rc.Version("ajut_sweep"), now)
			told := now.AddDate(0, 0, -3)
			for _, s := range []string{"sub0000000", "sub0000001"} {
				st.Claim(ctx, s, "new:ajut_sweep", alerts.Email, told)
				st.Mark(ctx, s, "new:ajut_sweep", alerts.Email, alerts.StateSent, told)
			}
			// Citizen 3 was told today: the news said the deadline.
			st.Claim(ctx, "sub0000003", "new:ajut_sweep", alerts.Email, now)
			// Citizen 1 withdrew the consent to alerts (the subscription
			// row is left, as if the withdrawal's clean-up had not run).
			for _, c := range []string{"census", "tax"} {
				if _, err := st.WithdrawGrant(ctx, "sub0000001", "g-proactive-alerts-"+c+"-sub0000001", now); err != nil {
					t.Fatal(err)
				}
			}
			// Citizen 2's consent to alerts ends in three days.
			for _, c := range []string{"census", "tax"} {
				st.WithdrawGrant(ctx, "sub0000002", "g-proactive-alerts-"+c+"-sub0000002", now)
			}
			if err := st.CreateGrant(ctx, consent.Grant{ID: "short", Subject: "sub0000002", Category: "census", Purpose: alerts.Purpose,
				Requester: "gencat-drets-socials", Source: "padro-municipal", LegalBasis: consent.BasisConsent, TextVersion: "v1",
				Language: "ca", GrantedAt: now.Add(-time.Hour), ExpiresAt: now.Add(72 * time.Hour)}); err != nil {
				t.Fatal(err)
			}

			svc := h.service(t, mailer, 1, nil)
			waitIdle(t, svc, alerts.CatchUpArgs{}.Kind(), alerts.SweepArgs{}.Kind(), alerts.PageArgs{}.Kind(), alerts.DatesArgs{}.Kind(), alerts.DeliverArgs{}.Kind())
			sink.Wait(2, 10*time.Second)
			for range 2 { // a second run of the dates job sends nothing new
				if _, err := svc.Client().Insert(ctx, alerts.DatesArgs{}, nil); err != nil {
					t.Fatal(err)
				}
				waitIdle(t, svc, alerts.DatesArgs{}.Kind(), alerts.DeliverArgs{}.Kind())
			}
			got := map[string]string{}
			for _, m := range sink.Messages() {
				subj, _ := m.Subject()
				if _, dup := got[m.To[0]]; dup {
					t.Errorf("a second message to %s: %s", m.To[0], subj)
				}
				got[m.To[0]] = subj
			}
			if len(got) != 2 || got["sub0000000@example.org"] != "alerts.mail.deadline.subjectx" ||
				got["sub0000002@example.org"] != "alerts.mail.renew.subject" {
				t.Fatalf("messages: %v", got)
			}
		})
	}
}

// everyone is an aid that fits every citizen of the harness.
func everyone(id string) recommend.Publication {
	t3 := map[string]string{"ca": "Ajut " + id, "es": "Ayuda " + id, "en": "Aid " + id}
	return recommend.Publication{Aid: recommend.Aid{ID: id, Level: "city", Administration: t3, Title: t3, Summary: t3,
		LegalReference: "x", ApplyURL: "https://x", ValidFrom: "2026-01-01", Categories: []string{"census"},
		Criteria: []recommend.CriterionSpec{{Name: "resident", Category: "census"}}},
		Rule: "package obert.aids." + id + "\n\nimport rego.v1\n\ncriteria[\"resident\"] := input.facts.census.municipality_code == \"08019\"\n"}
}

// TestRefreshDigestAndNews: after a data refresh, what started to fit is
// told in one message, once; an aid published later is told alone.
func TestRefreshDigestAndNews(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, storetest.OpenSQLite(t), 2)
	sink, mailer := mailBox(t)
	for _, id := range []string{"ajut_a", "ajut_b"} {
		if err := h.rc.Publish(ctx, everyone(id)); err != nil {
			t.Fatal(err)
		}
		h.st.QueueSweep(ctx, id, h.rc.Version(id), h.now)
	}
	svc := h.service(t, mailer, 1, nil)
	all := []string{alerts.CatchUpArgs{}.Kind(), alerts.SweepArgs{}.Kind(), alerts.PageArgs{}.Kind(),
		alerts.EvaluateArgs{}.Kind(), alerts.DatesArgs{}.Kind(), alerts.DeliverArgs{}.Kind()}
	waitIdle(t, svc, all...)
	for range 2 {
		if err := svc.Reevaluate(ctx, "sub0000000"); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, svc, all...)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "sub0000000@example.org" {
		t.Fatalf("%d messages after two refreshes, want one digest", len(msgs))
	}
	text := string(msgs[0].Raw)
	if !strings.Contains(text, "alerts.mail.digest.subject") || !strings.Contains(text, "Ajut ajut_a") || !strings.Contains(text, "Ajut ajut_b") {
		t.Fatalf("digest:\n%s", text)
	}
	if err := h.rc.Publish(ctx, everyone("ajut_c")); err != nil {
		t.Fatal(err)
	}
	if err := svc.AidChanged(ctx, "ajut_c"); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, svc, all...)
	msgs = sink.Messages()
	if len(msgs) != 3 {
		t.Fatalf("%d messages after the news, want 3 (one digest, the news to both)", len(msgs))
	}
	for _, m := range msgs[1:] {
		if s, _ := m.Subject(); s != "alerts.mail.new.subjectAjut ajut_c" {
			t.Errorf("news subject %q", s)
		}
	}
}

// TestNoNewsOfAnAidOlderThanTheSubscription: the sweep of an aid version
// tells those subscribed before it was published, and not those who
// subscribed after (the evaluation at their subscription marked it known,
// or will), even when the sweep runs before that evaluation. On both
// stores.
func TestNoNewsOfAnAidOlderThanTheSubscription(t *testing.T) {
	ctx := context.Background()
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			h := newHarness(t, be.Open(t), 4)
			sink, mailer := mailBox(t)
			if err := h.rc.Publish(ctx, everyone("ajut_nou")); err != nil {
				t.Fatal(err)
			}
			// Citizens 2 and 3 subscribe a minute after the aid is published
			// (when the service starts and queues its sweep); their
			// evaluation at subscription has not run.
			for _, subj := range []string{"sub0000002", "sub0000003"} {
				if err := h.st.PutSubscription(ctx, alerts.Subscription{Subject: subj, Channel: alerts.Email,
					Target: h.k.Seal([]byte(subj+"@example.org"), []byte("alerts/email/"+subj)), Lang: "ca", LoA: "substantial",
					CreatedAt: time.Now().Add(time.Minute), ConfirmedAt: time.Now().Add(time.Minute)}); err != nil {
					t.Fatal(err)
				}
			}
			svc := h.service(t, mailer, 1, nil)
			waitIdle(t, svc, alerts.SweepArgs{}.Kind(), alerts.PageArgs{}.Kind(), alerts.DeliverArgs{}.Kind())
			sink.Wait(2, 10*time.Second)
			waitIdle(t, svc, alerts.DeliverArgs{}.Kind())
			var to []string
			for _, m := range sink.Messages() {
				to = append(to, m.To[0])
			}
			slices.Sort(to)
			if !slices.Equal(to, []string{"sub0000000@example.org", "sub0000001@example.org"}) {
				t.Fatalf("told %v, want citizens 0 and 1 only", to)
			}
		})
	}
}
