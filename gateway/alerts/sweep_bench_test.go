package alerts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/keys"
	"github.com/obert-gov/obert/gateway/notify"
	"github.com/obert-gov/obert/gateway/ops"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/store"
	"github.com/obert-gov/obert/gateway/store/storetest"
	"github.com/obert-gov/obert/policy"
)

// described is a connector that is only described: the sweep reads stored
// facts and never calls a source.
type described struct{ d connectors.Description }

func (c described) Category() connectors.Category    { return c.d.Category }
func (c described) Describe() connectors.Description { return c.d }
func (described) Fetch(context.Context, connectors.Request) (connectors.Facts, error) {
	return connectors.Facts{}, fmt.Errorf("not in a sweep")
}

type logRecorder struct{ l *audit.Log }

func (r logRecorder) Record(ctx context.Context, e audit.Entry) error {
	_, err := r.l.Append(ctx, e)
	return err
}
func (r logRecorder) RecordAll(ctx context.Context, es []audit.Entry) error {
	for part := range slices.Chunk(es, 1000) {
		if _, err := r.l.AppendAll(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

// insertRows writes rows with multi-row INSERTs in one transaction.
func insertRows(b testing.TB, st *store.Store, table, cols string, rows [][]any) {
	db := st.DB()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	n := strings.Count(cols, ",") + 1
	for len(rows) > 0 {
		k := min(len(rows), 400)
		var q strings.Builder
		q.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
		args := make([]any, 0, k*n)
		for i, r := range rows[:k] {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(")
			for j := range r {
				if j > 0 {
					q.WriteString(",")
				}
				if st.Flavor() == store.Postgres {
					q.WriteString("$" + strconv.Itoa(len(args)+1))
				} else {
					q.WriteString("?")
				}
				args = append(args, r[j])
			}
			q.WriteString(")")
		}
		if _, err := tx.Exec(q.String(), args...); err != nil {
			tx.Rollback()
			b.Fatal(err)
		}
		rows = rows[k:]
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkProactiveSweep: an administration publishes an aid that reads
// census and tax data; River jobs re-evaluate 100,000 subscribed citizens
// against it: pages of 1,000 read their grants and sealed facts, every
// category of every citizen goes through its own guard decision and its
// own audit entry (committed in batches), the aid's rule is evaluated, and
// an alert is queued for each citizen it fits. Deliveries are left to
// another process. citizens/s is the sweep's throughput; s/sweep the time
// for all 100,000. OBERT_SWEEP_WORKERS sets how many pages run at once.
// It runs with gatewayd's collector target (ops.GCPercent) unless GOGC
// is set, as the sweep does in gatewayd.
func BenchmarkProactiveSweep(b *testing.B) {
	for _, be := range []struct {
		name string
		open func(testing.TB) *store.Store
	}{{"sqlite", storetest.OpenSQLite}, {"postgres", storetest.OpenPostgres}} {
		b.Run(be.name, func(b *testing.B) { benchSweep(b, be.open(b), sweepCitizens()) })
	}
}

// sweepCitizens is the population swept: OBERT_SWEEP_CITIZENS, or
// 100,000 (2,000 with -short, as make test runs every benchmark once to
// keep them working).
func sweepCitizens() int {
	if n, err := strconv.Atoi(os.Getenv("OBERT_SWEEP_CITIZENS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 2_000
	}
	return 100_000
}

// harness is a sweep's world on a real store: the guard, the consent
// service, the audit log, the recommender and a population of subscribers.
type harness struct {
	st   *store.Store
	k    *keys.Keys
	rec  logRecorder
	cs   *consent.Service
	ex   *exchange.Exchanger
	rc   *recommend.Recommender
	now  time.Time
	fits int // citizens 65 or older with an income under 15,000
}

// newHarness builds the world and its population: each citizen consented
// to census and tax data for recommendations and for alerts, has both
// fetched, and subscribed by e-mail.
func newHarness(tb testing.TB, st *store.Store, citizens int) *harness {
	ctx := context.Background()
	k, _ := keys.New(bytes.Repeat([]byte{9}, 32))
	log, _, _ := audittest.NewLog(tb, st)
	rec := logRecorder{log}
	guard, err := policy.NewGuard(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	offers, _ := consent.DefaultOffers()
	cs, err := consent.NewService(st, offers)
	if err != nil {
		tb.Fatal(err)
	}
	var conns []connectors.Connector
	for _, c := range []struct{ cat, src string }{{"census", "padro-municipal"}, {"tax", "aeat"}, {"employment", "tgss"}} {
		conns = append(conns, described{connectors.Description{ID: c.cat + "-viaoberta", Category: connectors.Category(c.cat), Source: c.src}})
	}
	ex, err := exchange.New(exchange.Config{Connectors: conns, Consents: cs, Guard: guard, Audit: rec, Facts: st, Sealer: k,
		Requester: connectors.Requester{ID: "gencat-drets-socials"},
		Purposes:  map[string]exchange.Purpose{"aid-recommendation": {}, alerts.Purpose: {Reuses: "aid-recommendation"}}})
	if err != nil {
		tb.Fatal(err)
	}
	catalogue, _ := policy.AidCatalogue()
	mods, _ := policy.AidModules()
	rc, err := recommend.New(ctx, catalogue, mods, nil)
	if err != nil {
		tb.Fatal(err)
	}
	h := &harness{st: st, k: k, rec: rec, cs: cs, ex: ex, rc: rc, now: time.Now().UTC()}
	now := h.now
	us := func(t time.Time) int64 { return t.UnixMicro() }
	rng := rand.New(rand.NewPCG(1, 2))
	var grants, facts, subs [][]any
	for i := range citizens {
		subj := fmt.Sprintf("sub%07d", i)
		for cat, src := range map[string]string{"census": "padro-municipal", "tax": "aeat"} {
			for _, p := range []string{"aid-recommendation", alerts.Purpose} {
				grants = append(grants, []any{"g-" + p + "-" + cat + "-" + subj, subj, cat, p, "gencat-drets-socials", src,
					consent.BasisConsent, "v1", "ca", us(now.Add(-time.Hour)), us(now.Add(30 * 24 * time.Hour)), int64(0)})
			}
		}
		census := map[string]any{"birth_date": fmt.Sprintf("%d-03-01", 1930+rng.IntN(75)), "municipality_code": "08019",
			"registered_since": "2001-01-01", "household_size": 1 + rng.IntN(4), "minors_in_household": rng.IntN(3),
			"over_65_in_household": rng.IntN(2), "lives_alone": rng.IntN(3) == 0}
		tax := map[string]any{"income_annual": 4000 + rng.IntN(60000), "tax_compliant": true}
		born, _ := time.Parse(time.DateOnly, census["birth_date"].(string))
		if born.AddDate(65, 0, 0).Before(now) && tax["income_annual"].(int) < 15000 {
			h.fits++
		}
		for cat, v := range map[string]map[string]any{"census": census, "tax": tax} {
			plain, _ := json.Marshal(connectors.Facts{Category: connectors.Category(cat), SchemaVersion: 1, Source: "s", FetchedAt: now, Values: v})
			facts = append(facts, []any{subj, cat, "aid-recommendation", "g-aid-recommendation-" + cat + "-" + subj,
				k.Seal(plain, []byte("facts/"+subj+"/"+cat)), us(now), us(now.Add(30 * 24 * time.Hour))})
		}
		// Addresses their owners confirmed.
		subs = append(subs, []any{subj, alerts.Email, k.Seal([]byte(subj+"@example.org"), []byte("alerts/email/"+subj)),
			"ca", "substantial", 0, 0, us(now), us(now)})
	}
	insertRows(tb, st, "consent_grants", "id, subject, category, purpose, requester, source, legal_basis, text_version, language, granted_at, expires_at, withdrawn_at", grants)
	insertRows(tb, st, "facts", "subject, category, purpose, grant_id, sealed, fetched_at, expires_at", facts)
	insertRows(tb, st, "alert_subscriptions", "subject, channel, target, language, loa, quiet_from, quiet_to, created_at, confirmed_at", subs)
	// The shipped catalogue was swept long ago.
	for _, a := range rc.Aids() {
		if _, err := st.QueueSweep(ctx, a.ID, rc.Version(a.ID), now); err != nil {
			tb.Fatal(err)
		}
	}
	return h
}

// service starts the alert jobs over the harness.
func (h *harness) service(tb testing.TB, mailer *notify.Mailer, deliverWorkers int, now func() time.Time) *alerts.Service {
	svc, err := alerts.New(alerts.Config{Store: h.st, Dates: h.st, Batch: h.st, Sealer: h.k, Consents: h.cs, Objections: h.st,
		Exchanger: h.ex, Recommender: h.rc, Audit: h.rec, Mailer: mailer,
		Texts:     func(_, key string, args ...any) string { return key + fmt.Sprint(args...) },
		PublicURL: "https://obert.example", TokenKey: bytes.Repeat([]byte{1}, 32), Driver: h.st.JobDriver(),
		Workers: sweepWorkers, DeliverWorkers: deliverWorkers, Poll: 50 * time.Millisecond, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Stop(context.Background()) })
	return svc
}

// sweepAid is an aid for citizens of 65 or more with a low income.
func sweepAid(summary, validUntil string) recommend.Publication {
	t3 := map[string]string{"ca": "x", "es": "x", "en": "x"}
	return recommend.Publication{Aid: recommend.Aid{ID: "ajut_sweep", Level: "generalitat", Administration: t3, Title: t3,
		Summary: map[string]string{"ca": summary}, LegalReference: "x", ApplyURL: "https://x", ValidFrom: "2026-01-01",
		ValidUntil: validUntil, Categories: []string{"census", "tax"},
		Criteria: []recommend.CriterionSpec{{Name: "over-65", Category: "census"}, {Name: "low-income", Category: "tax"}}},
		Rule: "package obert.aids.ajut_sweep\n\nimport rego.v1\n\nimport data.obert.aids.lib\n\n" +
			"criteria[\"over-65\"] := lib.age >= 65\n\ncriteria[\"low-income\"] := input.facts.tax.income_annual < 15000\n"}
}

// sweepWorkers run sweep pages at once (OBERT_SWEEP_WORKERS; by default
// the service's own, one more than the processors).
var sweepWorkers = func() int {
	if n, err := strconv.Atoi(os.Getenv("OBERT_SWEEP_WORKERS")); err == nil && n > 0 {
		return n
	}
	return 0
}()

func benchSweep(b *testing.B, st *store.Store, citizens int) {
	ctx := context.Background()
	if os.Getenv("GOGC") == "" {
		// The sweep runs in gatewayd, with its collector's target.
		defer debug.SetGCPercent(debug.SetGCPercent(ops.GCPercent))
	}
	h := newHarness(b, st, citizens)
	svc := h.service(b, nil, -1, nil)
	waitSweeps(b, svc) // the catch-up at start finds nothing to do
	var before int
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		before = countJobs(b, svc, alerts.DeliverArgs{}.Kind())
		if err := h.rc.Publish(ctx, sweepAid(strconv.Itoa(i), "")); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := cpuTime()
		if err := svc.AidChanged(ctx, "ajut_sweep"); err != nil {
			b.Fatal(err)
		}
		waitSweeps(b, svc)
		cpu += cpuTime() - cpu0
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds() / float64(b.N)
	// The process's processor time too: a sweep's wall time also counts
	// its pages' waits for the audit log, and whatever else the machine
	// runs.
	b.ReportMetric(cpu.Seconds()/float64(b.N)/float64(citizens)*1e6, "cpu-µs/citizen")
	b.ReportMetric(float64(citizens)/sec, "citizens/s")
	b.ReportMetric(sec, "s/sweep")
	if b.N == 1 {
		got := countJobs(b, svc, alerts.DeliverArgs{}.Kind()) - before
		if got != h.fits {
			b.Fatalf("the sweep queued %d alerts; the aid fits %d citizens", got, h.fits)
		}
		b.ReportMetric(float64(got), "alerts/sweep")
	}
}

// cpuTime is the processor time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var openStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStatePending, rivertype.JobStateScheduled}

// waitSweeps returns when no sweep job is left to run.
func waitSweeps(b testing.TB, svc *alerts.Service) {
	for {
		res, err := svc.Client().JobList(context.Background(), river.NewJobListParams().
			Kinds(alerts.SweepArgs{}.Kind(), alerts.PageArgs{}.Kind(), alerts.CatchUpArgs{}.Kind()).States(openStates...).First(1))
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Jobs) == 0 {
			return
		}
		if j := res.Jobs[0]; j.State == rivertype.JobStateRetryable {
			b.Fatalf("job %s failed: %v", j.Kind, j.Errors)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countJobs(b testing.TB, svc *alerts.Service, kind string) int {
	var n int
	params := river.NewJobListParams().Kinds(kind).States(rivertype.JobStateAvailable).First(10000)
	for {
		res, err := svc.Client().JobList(context.Background(), params)
		if err != nil {
			b.Fatal(err)
		}
		n += len(res.Jobs)
		if res.LastCursor == nil || len(res.Jobs) < 10000 {
			return n
		}
		params = params.After(res.LastCursor)
	}
}
