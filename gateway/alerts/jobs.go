package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/notify"
	"github.com/obert-gov/obert/gateway/recommend"
)

// Queues: evaluations and deliveries are worked apart, so that a sweep of
// every subscriber does not hold up the alerts it produces, and a process
// can be given only one of them.
const (
	QueueEvaluate = "alerts_evaluate"
	QueueDeliver  = "alerts_deliver"
)

// SweepArgs re-evaluates every subscriber for one version of an aid.
type SweepArgs struct {
	Aid     string `json:"aid"`
	Version string `json:"version"`
}

// InsertOpts puts the job on the evaluation queue.
func (SweepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueEvaluate} }

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "alerts.sweep" }

// PageArgs evaluates one page of subscribers: those after After and up to
// Upto. The bounds are subjects, not counts, so that citizens who subscribe
// while the sweep runs neither push anyone out of a page nor are counted
// twice.
type PageArgs struct {
	Aid     string `json:"aid"`
	Version string `json:"version"`
	After   string `json:"after"`
	Upto    string `json:"upto"`
}

// InsertOpts puts the job on the evaluation queue.
func (PageArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueEvaluate} }

// Kind implements river.JobArgs.
func (PageArgs) Kind() string { return "alerts.sweep_page" }

// EvaluateArgs re-evaluates one citizen against every aid. A baseline
// evaluation (at subscription) marks what fits as known and sends nothing.
type EvaluateArgs struct {
	Subject  string `json:"subject"`
	Baseline bool   `json:"baseline,omitempty"`
}

// InsertOpts puts the job on the evaluation queue.
func (EvaluateArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueEvaluate} }

// Kind implements river.JobArgs.
func (EvaluateArgs) Kind() string { return "alerts.evaluate" }

// DeliverArgs sends one alert to every channel of a citizen.
type DeliverArgs struct {
	Subject string `json:"subject"`
	Key     string `json:"key"`
}

// InsertOpts puts the job on the delivery queue.
func (DeliverArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueDeliver} }

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "alerts.deliver" }

// DatesArgs looks for deadlines and consent expiries coming.
type DatesArgs struct{}

// InsertOpts puts the job on the evaluation queue.
func (DatesArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueEvaluate} }

// Kind implements river.JobArgs.
func (DatesArgs) Kind() string { return "alerts.dates" }

// CatchUpArgs queues the sweep of any aid version not swept yet.
type CatchUpArgs struct{}

// InsertOpts puts the job on the evaluation queue.
func (CatchUpArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueEvaluate} }

// Kind implements river.JobArgs.
func (CatchUpArgs) Kind() string { return "alerts.catch_up" }

var uniqueByArgs = &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	s *Service
}

// Work splits the subscribers into pages, each its own job, so that every
// worker of every replica takes a share.
func (w *sweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	s := w.s
	if s.cfg.Recommender.Version(job.Args.Aid) != job.Args.Version {
		// Perhaps published on another replica and not followed here yet.
		if err := s.refresh(ctx); err != nil {
			return err
		}
		if s.cfg.Recommender.Version(job.Args.Aid) != job.Args.Version {
			return nil // superseded or retired: the newer version has its own sweep
		}
	}
	var pages []river.InsertManyParams
	after := ""
	for {
		subs, err := s.cfg.Store.Subscribers(ctx, after, "", s.cfg.PageSize, Objection)
		if err != nil {
			return err
		}
		if len(subs) == 0 {
			break
		}
		upto := subs[len(subs)-1].Subject
		if len(subs) < s.cfg.PageSize {
			upto = "" // the last page takes whoever subscribes meanwhile
		}
		pages = append(pages, river.InsertManyParams{Args: PageArgs{Aid: job.Args.Aid, Version: job.Args.Version,
			After: after, Upto: upto}, InsertOpts: uniqueByArgs})
		after = subs[len(subs)-1].Subject
		if len(subs) < s.cfg.PageSize {
			break
		}
	}
	if len(pages) == 0 {
		return nil
	}
	_, err := s.client.InsertMany(ctx, pages)
	return err
}

type pageWorker struct {
	river.WorkerDefaults[PageArgs]
	s *Service
}

func (w *pageWorker) Work(ctx context.Context, job *river.Job[PageArgs]) error {
	_, err := w.s.sweepPage(ctx, job.Args)
	return err
}

// sweepPage evaluates one page and queues the alerts; it returns how many
// citizens it evaluated.
func (s *Service) sweepPage(ctx context.Context, a PageArgs) (int, error) {
	ev, err := s.cfg.Recommender.Evaluator(ctx, a.Aid)
	if err != nil || ev.Version() != a.Version {
		// Published on another replica, perhaps, and not followed here
		// yet: catch up before deciding it was retired or superseded.
		if err := s.refresh(ctx); err != nil {
			return 0, err
		}
		if ev, err = s.cfg.Recommender.Evaluator(ctx, a.Aid); err != nil || ev.Version() != a.Version {
			return 0, nil // retired or superseded
		}
	}
	subs, err := s.cfg.Store.Subscribers(ctx, a.After, a.Upto, 1<<30, Objection)
	if err != nil || len(subs) == 0 {
		return 0, err
	}
	// Whoever subscribed after this version was published had it marked
	// known by the evaluation at subscription, or will have when that
	// evaluation runs: it is not news to them. (A version not recorded yet
	// is being queued now, after every subscription read here.)
	if published, ok, err := s.cfg.Store.SweepQueued(ctx, a.Aid, a.Version); err != nil {
		return 0, err
	} else if ok {
		subs = slices.DeleteFunc(subs, func(sub Subscriber) bool { return sub.Since.After(published) })
	}
	key := AlertNew + ":" + a.Aid
	subjects := make([]string, len(subs))
	for i, sub := range subs {
		subjects[i] = sub.Subject
	}
	told, err := s.cfg.Store.Told(ctx, subjects, key)
	if err != nil {
		return 0, err
	}
	var cs []exchange.Citizen
	for _, sub := range subs {
		if !told[sub.Subject] {
			cs = append(cs, exchange.Citizen{Subject: sub.Subject, LoA: sub.LoA})
		}
	}
	served := s.cfg.Exchanger.Categories()
	cats := slices.DeleteFunc(slices.Clone(ev.Aid().Categories), func(c string) bool { return !slices.Contains(served, c) })
	// Only the categories the aid reads are released (minimisation).
	facts, err := s.cfg.Exchanger.UseMany(ctx, s.cfg.Batch, s.cfg.Audit, cs, cats, Purpose)
	if err != nil {
		return 0, err
	}
	var deliver []river.InsertManyParams
	for _, c := range cs {
		f, ok := facts[c.Subject]
		if !ok {
			continue // nothing consented for these categories: nothing to say
		}
		res, err := ev.Evaluate(ctx, recommend.Situation{Facts: f})
		if errors.Is(err, recommend.ErrTooSlow) {
			// The aid's rule is too slow on this citizen's data: no alert
			// rather than no sweep for everyone after.
			s.cfg.Log.Warn("aid rule past its time budget; the citizen is not alerted of it", "aid", a.Aid)
			continue
		}
		if err != nil {
			return 0, err
		}
		if res.Status == recommend.Eligible {
			deliver = append(deliver, river.InsertManyParams{Args: DeliverArgs{Subject: c.Subject, Key: key}, InsertOpts: uniqueByArgs})
		}
	}
	if len(deliver) > 0 {
		if _, err := s.client.InsertMany(ctx, deliver); err != nil {
			return 0, err
		}
	}
	return len(cs), nil
}

type evaluateWorker struct {
	river.WorkerDefaults[EvaluateArgs]
	s *Service
}

func (w *evaluateWorker) Work(ctx context.Context, job *river.Job[EvaluateArgs]) error {
	s := w.s
	subs, err := s.cfg.Store.Subscriptions(ctx, job.Args.Subject)
	if err != nil || len(subs) == 0 {
		return err // no longer subscribed
	}
	switch err := s.allowed(ctx, job.Args.Subject); {
	case errors.Is(err, ErrObjected), errors.Is(err, ErrNoConsent):
		return nil
	case err != nil:
		return err
	}
	facts, err := s.cfg.Exchanger.UseMany(ctx, s.cfg.Batch, s.cfg.Audit,
		[]exchange.Citizen{{Subject: job.Args.Subject, LoA: weakest(subs)}}, s.cfg.Exchanger.Categories(), Purpose)
	if err != nil {
		return err
	}
	rs, err := s.cfg.Recommender.Recommend(ctx, recommend.Situation{Facts: facts[job.Args.Subject]})
	if err != nil {
		return err
	}
	known, err := s.cfg.Store.KeysOf(ctx, job.Args.Subject)
	if err != nil {
		return err
	}
	var keys []string
	for _, r := range rs {
		if k := AlertNew + ":" + r.Aid.ID; r.Status == recommend.Eligible && !known[k] {
			keys = append(keys, k)
		}
	}
	if job.Args.Baseline || len(keys) == 0 {
		return s.cfg.Store.MarkKnown(ctx, job.Args.Subject, keys, s.cfg.Now().UTC())
	}
	key := keys[0]
	if len(keys) > 1 {
		// Several at once: one message naming them all. Each aid is
		// marked known first, so none of them is announced again alone.
		if err := s.cfg.Store.MarkKnown(ctx, job.Args.Subject, keys, s.cfg.Now().UTC()); err != nil {
			return err
		}
		ids := make([]string, len(keys))
		for i, k := range keys {
			ids[i] = strings.TrimPrefix(k, AlertNew+":")
		}
		key = AlertDigest + ":" + strings.Join(ids, ",")
	}
	_, err = s.client.Insert(ctx, DeliverArgs{Subject: job.Args.Subject, Key: key}, uniqueByArgs)
	return err
}

// named returns the aids an alert names that are published here, and
// whether any is missing.
func (s *Service) named(kind, rest string) (aids []recommend.Aid, missing bool) {
	byID := map[string]recommend.Aid{}
	for _, x := range s.cfg.Recommender.Aids() {
		byID[x.ID] = x
	}
	var ids []string
	switch kind {
	case AlertNew, AlertDeadline:
		id, _, _ := strings.Cut(rest, ":")
		ids = []string{id}
	case AlertDigest:
		ids = strings.Split(rest, ",")
	}
	for _, id := range ids {
		if a, ok := byID[id]; ok {
			aids = append(aids, a)
		} else {
			missing = true
		}
	}
	return aids, missing
}

// refresh brings this process to the catalogue's newest version, so that a
// job never takes an aid it does not know yet for one that is gone.
func (s *Service) refresh(ctx context.Context) error {
	if s.cfg.Refresh == nil {
		return nil
	}
	return s.cfg.Refresh(ctx)
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

// Work sends the alert on each channel not sent yet. Consent, objection,
// subscription and quiet hours are checked now, at sending time: a
// withdrawal stops what was queued before it.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s, a := w.s, job.Args
	kind, rest, _ := strings.Cut(a.Key, ":")
	switch err := s.allowed(ctx, a.Subject); {
	case errors.Is(err, ErrObjected), errors.Is(err, ErrNoConsent):
		return nil // nothing is sent, now or later
	case err != nil:
		return err // a failed lookup: retried, nothing sent meanwhile
	}
	subs, err := s.cfg.Store.Subscriptions(ctx, a.Subject)
	if err != nil {
		return err
	}
	aids, missing := s.named(kind, rest)
	if missing {
		// An aid this replica does not know may have been published on
		// another one: catch up before taking it for retired.
		if err := s.refresh(ctx); err != nil {
			return err
		}
		aids, _ = s.named(kind, rest)
	}
	if kind != AlertRenew && len(aids) == 0 {
		return nil // retired meanwhile
	}
	now := s.cfg.Now()
	var errs []error
	for _, sub := range subs {
		if !slices.Contains(s.Channels(), sub.Channel) || !sub.Confirmed() {
			continue // an address its owner has not confirmed gets nothing
		}
		if until := s.quietUntil(now, sub.QuietFrom, sub.QuietTo); !until.IsZero() {
			return river.JobSnooze(until.Sub(now))
		}
		state, err := s.cfg.Store.Claim(ctx, a.Subject, a.Key, sub.Channel, now.UTC())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if state != StateSending {
			continue // sent already, or known
		}
		if err := s.send(ctx, sub, a.Key, kind, rest, aids); err != nil {
			if errors.Is(err, notify.ErrGone) {
				// The browser dropped it: the subscription goes, recorded.
				if err := s.cfg.Audit.Record(ctx, audit.Entry{ID: s.newID(), Time: s.cfg.Now().UTC(), Kind: KindUnsubscribe,
					Subject: a.Subject, Purpose: Purpose, Fields: []string{sub.Channel}, Outcome: "gone"}); err == nil {
					s.cfg.Store.DeleteSubscription(ctx, a.Subject, sub.Channel)
				}
				continue
			}
			errs = append(errs, err)
			continue
		}
		if err := s.cfg.Store.Mark(ctx, a.Subject, a.Key, sub.Channel, StateSent, s.cfg.Now().UTC()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// send renders and sends one alert, after recording it in the audit log.
func (s *Service) send(ctx context.Context, sub Subscription, key, kind, rest string, aids []recommend.Aid) error {
	target, err := s.cfg.Sealer.Open(sub.Target, targetContext(sub.Subject, sub.Channel))
	if err != nil {
		return err
	}
	if err := s.cfg.Audit.Record(ctx, audit.Entry{ID: s.newID(), Time: s.cfg.Now().UTC(), Kind: KindSent,
		Subject: sub.Subject, Purpose: Purpose, Fields: append([]string{sub.Channel, kind}, idsOf(aids)...),
		Outcome: "ok"}); err != nil {
		return err
	}
	m := s.message(sub, kind, rest, aids)
	id := messageID(sub.Subject, key, sub.Channel)
	switch sub.Channel {
	case Email:
		m.To, m.MessageID = string(target), id+"@obert"
		return s.cfg.Mailer.Send(ctx, m)
	case Push:
		var ps notify.PushSubscription
		if err := json.Unmarshal(target, &ps); err != nil {
			return err
		}
		payload, _ := json.Marshal(map[string]string{"title": m.Subject, "body": m.Text, "url": s.cfg.PublicURL + "/folder/aids"})
		return s.cfg.Pusher.Send(ctx, ps, payload, id[:32])
	}
	return fmt.Errorf("alerts: channel %q", sub.Channel)
}

// message renders an alert in the subscription's language. It names the
// aid and links to the folder; it carries none of the citizen's data.
func (s *Service) message(sub Subscription, kind, rest string, aids []recommend.Aid) notify.Message {
	T, l := s.cfg.Texts, sub.Lang
	var aid recommend.Aid
	if len(aids) > 0 {
		aid = aids[0]
	}
	unsub := s.UnsubscribeURL(sub.Subject, sub.Channel)
	folder := s.cfg.PublicURL + "/folder/aids"
	var subject, body string
	switch kind {
	case AlertNew:
		subject = T(l, "alerts.mail.new.subject", aid.Title[l])
		body = T(l, "alerts.mail.new.body", aid.Title[l], aid.Administration[l], aid.Summary[l])
		if aid.ValidUntil != "" {
			body += "\n\n" + T(l, "alerts.mail.new.until", aid.ValidUntil)
		}
	case AlertDeadline:
		_, date, _ := strings.Cut(rest, ":")
		subject = T(l, "alerts.mail.deadline.subject", aid.Title[l])
		body = T(l, "alerts.mail.deadline.body", aid.Title[l], date)
	case AlertDigest:
		subject = T(l, "alerts.mail.digest.subject", len(aids))
		var list []string
		for _, a := range aids {
			list = append(list, "- "+a.Title[l]+" ("+a.Administration[l]+")")
		}
		body = T(l, "alerts.mail.digest.body") + "\n\n" + strings.Join(list, "\n")
	case AlertRenew:
		subject = T(l, "alerts.mail.renew.subject")
		body = T(l, "alerts.mail.renew.body")
		folder = s.cfg.PublicURL + "/folder/consent"
	}
	text := body + "\n\n" + T(l, "alerts.mail.see", folder) + "\n\n" + T(l, "alerts.mail.advice") + "\n\n" +
		T(l, "alerts.mail.unsubscribe", unsub) + "\n"
	return notify.Message{Subject: subject, Text: text, Unsubscribe: unsub}
}

// weakest is the lowest level of assurance any of subs was made at.
func weakest(subs []Subscription) string {
	rank := map[string]int{"low": 1, "substantial": 2, "high": 3}
	out := subs[0].LoA
	for _, s := range subs[1:] {
		if rank[s.LoA] < rank[out] {
			out = s.LoA
		}
	}
	return out
}

func idsOf(aids []recommend.Aid) []string {
	ids := make([]string, len(aids))
	for i, a := range aids {
		ids[i] = a.ID
	}
	return ids
}

// messageID is the same for every attempt at one alert on one channel.
func messageID(subject, key, channel string) string {
	h := sha256.Sum256([]byte(subject + "\x00" + key + "\x00" + channel))
	return hex.EncodeToString(h[:])
}

type datesWorker struct {
	river.WorkerDefaults[DatesArgs]
	s *Service
}

// Work queues reminders: the deadline of an aid that fits (sent to those
// told of it), and the expiry of the consent to alerts.
func (w *datesWorker) Work(ctx context.Context, _ *river.Job[DatesArgs]) error {
	s := w.s
	now := s.cfg.Now().UTC()
	today, horizon := now.Format(time.DateOnly), now.Add(s.cfg.Ahead).Format(time.DateOnly)
	var deliver []river.InsertManyParams
	for _, a := range s.cfg.Recommender.Aids() {
		if a.ValidUntil == "" || a.ValidUntil < today || a.ValidUntil > horizon {
			continue
		}
		after := ""
		for {
			// Those told today were told of the deadline with the news.
			subjects, err := s.cfg.Dates.SubjectsWith(ctx, AlertNew+":"+a.ID, after, now.Add(-24*time.Hour), 1000)
			if err != nil {
				return err
			}
			for _, sub := range subjects {
				deliver = append(deliver, river.InsertManyParams{Args: DeliverArgs{Subject: sub,
					Key: AlertDeadline + ":" + a.ID + ":" + a.ValidUntil}, InsertOpts: uniqueByArgs})
			}
			if len(subjects) < 1000 {
				break
			}
			after = subjects[len(subjects)-1]
		}
	}
	grants, err := s.cfg.Dates.ExpiringGrants(ctx, Purpose, now, now.Add(s.cfg.Ahead))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, g := range grants {
		if !seen[g.Subject] {
			seen[g.Subject] = true
			deliver = append(deliver, river.InsertManyParams{Args: DeliverArgs{Subject: g.Subject,
				Key: AlertRenew + ":" + g.ExpiresAt.UTC().Format(time.DateOnly)}, InsertOpts: uniqueByArgs})
		}
	}
	for part := range slices.Chunk(deliver, 1000) {
		if _, err := s.client.InsertMany(ctx, part); err != nil {
			return err
		}
	}
	return nil
}

type catchUpWorker struct {
	river.WorkerDefaults[CatchUpArgs]
	s *Service
}

// Work queues the sweep of every aid version not queued yet (a
// publication whose queueing failed, or one made by another replica).
func (w *catchUpWorker) Work(ctx context.Context, _ *river.Job[CatchUpArgs]) error {
	return w.s.catchUp(ctx)
}

func (s *Service) catchUp(ctx context.Context) error {
	var errs []error
	for _, a := range s.cfg.Recommender.Aids() {
		errs = append(errs, s.AidChanged(ctx, a.ID))
	}
	return errors.Join(errs...)
}
