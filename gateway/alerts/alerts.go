// Package alerts is phase 3 of the recommender: citizens who consented to
// proactive alerts are told, by e-mail or web push, when an aid starts to
// fit them. Background jobs (River, on SQLite or PostgreSQL) re-evaluate a
// citizen when an aid is published or changed, when their data is
// refreshed, and ahead of known dates (an aid's deadline, the renewal of
// their consent).
//
// Every evaluation reads the citizen's facts through the policy guard for
// the purpose proactive-alerts, with each use in the audit log; every alert
// is sent once, outside the citizen's quiet hours, with a link that ends
// the subscription, and none is sent once consent is withdrawn or the
// citizen objects to the profiling.
package alerts

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/notify"
	"github.com/obert-gov/obert/gateway/recommend"
)

// Purpose is the consent purpose of alerts.
const Purpose = "proactive-alerts"

// Objection is the objection kind that stops every alert.
const Objection = "proactive-profiling"

// Audit kinds.
const (
	KindSubscribe   = "alerts.subscribe"
	KindUnsubscribe = "alerts.unsubscribe"
	KindSent        = "alerts.sent"
)

// Alert kinds, the first part of an alert key.
const (
	AlertNew      = "new"      // an aid fits: "new:<aid>"
	AlertDeadline = "deadline" // an aid that fits ends soon: "deadline:<aid>:<date>"
	AlertRenew    = "renew"    // the alerts consent expires soon: "renew:<date>"
	// AlertDigest gathers several aids that started to fit at once (after
	// the citizen's data was refreshed) in one message: "digest:<a>,<b>…".
	AlertDigest = "digest"
)

// Sealer seals subscription targets at rest.
type Sealer interface {
	Seal(plaintext, context []byte) []byte
	Open(sealed, context []byte) ([]byte, error)
}

// Consents is what alerts need of consent.
type Consents interface {
	Active(ctx context.Context, subject, category, purpose string) (consent.Grant, error)
}

// Objections reads a citizen's objections.
type Objections interface {
	Objections(ctx context.Context, subject string) (map[string]time.Time, error)
}

// Exchanger releases stored facts through the guard.
type Exchanger interface {
	Categories() []string
	UseMany(ctx context.Context, b exchange.BatchStore, rec exchange.BatchRecorder, cs []exchange.Citizen, categories []string, purpose string) (map[string]map[string]map[string]any, error)
}

// Recommender evaluates aids.
type Recommender interface {
	Aids() []recommend.Aid
	Version(id string) string
	Evaluator(ctx context.Context, id string) (*recommend.Evaluator, error)
	Recommend(ctx context.Context, s recommend.Situation) ([]recommend.Result, error)
}

// Recorder writes the audit log.
type Recorder interface {
	exchange.BatchRecorder
	Record(ctx context.Context, e audit.Entry) error
}

// DateStore finds the dates alerts are sent ahead of.
type DateStore interface {
	// SubjectsWith lists subjects, after after, with a delivery of key
	// made before before.
	SubjectsWith(ctx context.Context, key, after string, before time.Time, limit int) ([]string, error)
	// ExpiringGrants lists the grants of purpose in force at from that
	// expire before to, of subscribed citizens.
	ExpiringGrants(ctx context.Context, purpose string, from, to time.Time) ([]consent.Grant, error)
}

// Texts renders the messages, in the subscription's language.
type Texts func(lang, key string, args ...any) string

// Config assembles a Service.
type Config struct {
	Store       Store
	Dates       DateStore
	Batch       exchange.BatchStore
	Sealer      Sealer
	Consents    Consents
	Objections  Objections
	Exchanger   Exchanger
	Recommender Recommender
	Audit       Recorder
	Mailer      *notify.Mailer // nil: no e-mail channel
	Pusher      *notify.Pusher // nil: no web push channel
	Texts       Texts
	PublicURL   string
	// TokenKey seals unsubscribe links' tokens (32 bytes).
	TokenKey []byte
	// Driver is River's driver on the gateway's database.
	Driver riverdriver.Driver[*sql.Tx]
	// AllowHTTPPush accepts push endpoints over plain http (development
	// mode only, where the tests run their push service on loopback).
	AllowHTTPPush bool
	// PageSize is how many citizens one sweep job evaluates (default 1000).
	PageSize int
	// Workers run evaluation jobs at once in this process (default one
	// more than the processors: a sweep page waits for its batch of audit
	// entries to commit in the log's one sequence, and another page keeps
	// the processor busy meanwhile);
	// DeliverWorkers run deliveries (default 2). A negative number leaves
	// that queue to other processes.
	Workers, DeliverWorkers int
	// Refresh brings this process to the catalogue's newest version; a job
	// that names an aid this process does not know calls it before
	// deciding the aid is gone. Nil: the catalogue never changes.
	Refresh func(context.Context) error
	// Poll is how often workers look for jobs (default 1 s).
	Poll time.Duration
	// Ahead is how long before a deadline or an expiry the reminder goes
	// (default 14 days).
	Ahead time.Duration
	Now   func() time.Time
	NewID func() string
	Log   *slog.Logger
}

// Service runs subscriptions and the alert jobs.
type Service struct {
	cfg    Config
	client *river.Client[*sql.Tx]
	loc    *time.Location
	tokens cipher.AEAD
}

// New builds the service and its River client; Start runs the workers.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Dates == nil || cfg.Batch == nil || cfg.Sealer == nil || cfg.Consents == nil ||
		cfg.Objections == nil || cfg.Exchanger == nil || cfg.Recommender == nil || cfg.Audit == nil ||
		cfg.Texts == nil || cfg.Driver == nil || len(cfg.TokenKey) < 32 {
		return nil, errors.New("alerts: store, dates, batch, sealer, consents, objections, exchanger, recommender, audit, texts, driver and a 32-byte token key are required")
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 1000
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0) + 1
	}
	if cfg.DeliverWorkers == 0 {
		cfg.DeliverWorkers = 2
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	if cfg.Ahead == 0 {
		cfg.Ahead = 14 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	loc, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		return nil, fmt.Errorf("alerts: time zone: %w", err)
	}
	blk, err := aes.NewCipher(cfg.TokenKey[:32])
	if err != nil {
		return nil, err
	}
	tokens, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, loc: loc, tokens: tokens}
	workers := river.NewWorkers()
	river.AddWorker(workers, &sweepWorker{s: s})
	river.AddWorker(workers, &pageWorker{s: s})
	river.AddWorker(workers, &evaluateWorker{s: s})
	river.AddWorker(workers, &deliverWorker{s: s})
	river.AddWorker(workers, &datesWorker{s: s})
	river.AddWorker(workers, &catchUpWorker{s: s})
	queues := map[string]river.QueueConfig{}
	if cfg.Workers > 0 {
		queues[QueueEvaluate] = river.QueueConfig{MaxWorkers: cfg.Workers}
	}
	if cfg.DeliverWorkers > 0 {
		queues[QueueDeliver] = river.QueueConfig{MaxWorkers: cfg.DeliverWorkers}
	}
	s.client, err = river.NewClient(cfg.Driver, &river.Config{
		Queues:            queues,
		Workers:           workers,
		FetchPollInterval: cfg.Poll,
		FetchCooldown:     min(cfg.Poll, 100*time.Millisecond),
		// Workers look for jobs every Poll and nothing listens for new
		// ones: on PostgreSQL River's database/sql driver has no
		// listener, and on SQLite its listener reads a table of
		// notifications every 50 ms, which kept an idle gatewayd at 2 %
		// of a processor, for jobs (alerts) that can wait for the next
		// poll.
		PollOnly:    true,
		MaxAttempts: 10,
		// River's own warnings and errors (a job that panicked, a lost
		// leader, a database it cannot reach) go to the gateway's log.
		Logger: slog.New(atLeast{h: cfg.Log.Handler(), min: slog.LevelWarn}).With("component", "jobs"),
		PeriodicJobs: []*river.PeriodicJob{
			// Start has just done what a catch-up at start would.
			river.NewPeriodicJob(river.PeriodicInterval(5*time.Minute),
				func() (river.JobArgs, *river.InsertOpts) { return CatchUpArgs{}, nil }, nil),
			river.NewPeriodicJob(river.PeriodicInterval(6*time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return DatesArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("alerts: jobs: %w", err)
	}
	return s, nil
}

// Start runs the workers until Stop. The sweeps of the aid versions not
// queued yet (the shipped catalogue on a first start, or a new release of
// it) are queued first, so that they count as published before anyone
// subscribes through this process.
func (s *Service) Start(ctx context.Context) error {
	if err := s.catchUp(ctx); err != nil {
		return fmt.Errorf("alerts: queue the catalogue's sweeps: %w", err)
	}
	return s.client.Start(ctx)
}

// Stop waits for running jobs to finish, up to ctx.
func (s *Service) Stop(ctx context.Context) error { return s.client.Stop(ctx) }

// Client is the River client (tests wait on its events).
func (s *Service) Client() *river.Client[*sql.Tx] { return s.client }

// Channels reports which channels this gateway can deliver.
func (s *Service) Channels() []string {
	var out []string
	if s.cfg.Mailer != nil {
		out = append(out, Email)
	}
	if s.cfg.Pusher != nil {
		out = append(out, Push)
	}
	return out
}

// VAPIDKey is the web push application server key, or "".
func (s *Service) VAPIDKey() string {
	if s.cfg.Pusher == nil {
		return ""
	}
	return s.cfg.Pusher.PublicKey
}

// Errors of subscriptions.
var (
	ErrNoConsent = errors.New("alerts: no consent to proactive alerts")
	ErrObjected  = errors.New("alerts: the citizen objects to proactive profiling")
	ErrChannel   = errors.New("alerts: this channel is not available")
	ErrTarget    = errors.New("alerts: not a valid address for this channel")
	ErrQuiet     = errors.New("alerts: quiet hours are two times of day")
)

// SubscribeRequest is what the citizen asks for.
type SubscribeRequest struct {
	Subject, LoA, Lang string
	Channel            string
	Target             string // e-mail address, or push subscription JSON
	QuietFrom, QuietTo int    // minutes after midnight
}

// consentedCategories returns the categories the subject consented to for
// alerts.
func (s *Service) consentedCategories(ctx context.Context, subject string) ([]string, error) {
	var out []string
	for _, c := range s.cfg.Exchanger.Categories() {
		_, err := s.cfg.Consents.Active(ctx, subject, c, Purpose)
		switch {
		case err == nil:
			out = append(out, c)
		case errors.Is(err, consent.ErrNoConsent):
		default:
			return nil, err
		}
	}
	return out, nil
}

// Subscribe adds or replaces the subscription of a channel. The citizen
// must have consented to alerts for at least one category and not object;
// the aids that already fit them are marked known, so only new ones alert.
func (s *Service) Subscribe(ctx context.Context, r SubscribeRequest) error {
	if !slices.Contains(s.Channels(), r.Channel) {
		return ErrChannel
	}
	if r.QuietFrom < 0 || r.QuietFrom >= 24*60 || r.QuietTo < 0 || r.QuietTo >= 24*60 {
		return ErrQuiet
	}
	target := strings.TrimSpace(r.Target)
	switch r.Channel {
	case Email:
		a, err := mail.ParseAddress(target)
		if err != nil || a.Address != target || len(target) > 254 {
			return ErrTarget
		}
	case Push:
		sub, err := notify.ParseSubscription([]byte(target), s.cfg.AllowHTTPPush)
		if err != nil {
			return ErrTarget
		}
		b, _ := json.Marshal(sub)
		target = string(b)
	}
	if err := s.allowed(ctx, r.Subject); err != nil {
		return err
	}
	// Recorded first: the log may show a subscription that then failed to
	// be stored (the citizen is told to try again), never one it misses.
	now := s.cfg.Now().UTC()
	if err := s.cfg.Audit.Record(ctx, audit.Entry{ID: s.newID(), Time: now, Kind: KindSubscribe, Subject: r.Subject,
		Purpose: Purpose, Fields: []string{r.Channel}, Outcome: "ok"}); err != nil {
		return err
	}
	sub := Subscription{Subject: r.Subject, Channel: r.Channel,
		Target: s.cfg.Sealer.Seal([]byte(target), targetContext(r.Subject, r.Channel)), Lang: r.Lang, LoA: r.LoA,
		QuietFrom: r.QuietFrom, QuietTo: r.QuietTo, CreatedAt: now}
	// A browser's subscription is its own proof; an address is confirmed
	// by its owner, through a link sent to it, before anything else is.
	// The same address already confirmed stays so.
	var token string
	switch {
	case r.Channel == Push:
		sub.ConfirmedAt = now
	case s.confirmedAlready(ctx, r.Subject, target):
		sub.ConfirmedAt = now
	default:
		token = rand.Text() + rand.Text()
		sub.ConfirmHash, sub.ConfirmUntil = hashToken(token), now.Add(ConfirmFor)
	}
	if err := s.cfg.Store.PutSubscription(ctx, sub); err != nil {
		return err
	}
	if token != "" {
		if err := s.sendConfirmation(ctx, sub, target, token); err != nil {
			return err
		}
	}
	_, err := s.client.Insert(ctx, EvaluateArgs{Subject: r.Subject, Baseline: true}, nil)
	return err
}

// ConfirmFor is how long a confirmation link works.
const ConfirmFor = 24 * time.Hour

// KindConfirm is the audit kind of a confirmed address.
const KindConfirm = "alerts.confirm"

// ErrLinkUsed is a confirmation link that is unknown, used or expired.
var ErrLinkUsed = errors.New("alerts: the link is unknown, used or expired")

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// confirmedAlready reports whether subject's e-mail subscription already
// confirmed target.
func (s *Service) confirmedAlready(ctx context.Context, subject, target string) bool {
	subs, err := s.cfg.Store.Subscriptions(ctx, subject)
	if err != nil {
		return false
	}
	for _, sub := range subs {
		if sub.Channel == Email && sub.Confirmed() {
			t, err := s.cfg.Sealer.Open(sub.Target, targetContext(subject, Email))
			return err == nil && string(t) == target
		}
	}
	return false
}

// sendConfirmation e-mails the link that confirms the address; it says
// only that alerts were asked for it, and how to ignore it.
func (s *Service) sendConfirmation(ctx context.Context, sub Subscription, to, token string) error {
	T, l := s.cfg.Texts, sub.Lang
	link := s.cfg.PublicURL + "/alerts/confirm?t=" + token
	return s.cfg.Mailer.Send(ctx, notify.Message{To: to, Subject: T(l, "alerts.mail.confirm.subject"),
		Text: T(l, "alerts.mail.confirm.body", link) + "\n", MessageID: hashToken(token)[:32] + "@obert"})
}

// Confirm confirms the address whose link carries token, once and before
// it expires, and records it.
func (s *Service) Confirm(ctx context.Context, token string) error {
	now := s.cfg.Now().UTC()
	subject, channel, ok, err := s.cfg.Store.ConfirmSubscription(ctx, hashToken(token), now)
	if err != nil {
		return err
	}
	if !ok {
		return ErrLinkUsed
	}
	return s.cfg.Audit.Record(ctx, audit.Entry{ID: s.newID(), Time: now, Kind: KindConfirm, Subject: subject,
		Purpose: Purpose, Fields: []string{channel}, Outcome: "ok"})
}

// Resend sends a new confirmation link for subject's unconfirmed address
// (the old one stops working).
func (s *Service) Resend(ctx context.Context, subject string) error {
	subs, err := s.cfg.Store.Subscriptions(ctx, subject)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if sub.Channel != Email || sub.Confirmed() {
			continue
		}
		target, err := s.cfg.Sealer.Open(sub.Target, targetContext(subject, Email))
		if err != nil {
			return err
		}
		token := rand.Text() + rand.Text()
		sub.ConfirmHash, sub.ConfirmUntil = hashToken(token), s.cfg.Now().UTC().Add(ConfirmFor)
		if err := s.cfg.Store.PutSubscription(ctx, sub); err != nil {
			return err
		}
		return s.sendConfirmation(ctx, sub, string(target), token)
	}
	return ErrLinkUsed
}

// Unsubscribe ends a channel's subscription; ok reports whether there was
// one.
func (s *Service) Unsubscribe(ctx context.Context, subject, channel string) (bool, error) {
	if err := s.cfg.Audit.Record(ctx, audit.Entry{ID: s.newID(), Time: s.cfg.Now().UTC(), Kind: KindUnsubscribe,
		Subject: subject, Purpose: Purpose, Fields: []string{channel}, Outcome: "ok"}); err != nil {
		return false, err
	}
	return s.cfg.Store.DeleteSubscription(ctx, subject, channel)
}

// allowed tells whether alerts may be computed for subject now: ErrObjected
// if they object, ErrNoConsent without a live alerts grant, or the error of
// a lookup that failed (and then nothing is computed or sent).
func (s *Service) allowed(ctx context.Context, subject string) error {
	obj, err := s.cfg.Objections.Objections(ctx, subject)
	if err != nil {
		return err
	}
	if _, ok := obj[Objection]; ok {
		return ErrObjected
	}
	cats, err := s.consentedCategories(ctx, subject)
	if err != nil {
		return err
	}
	if len(cats) == 0 {
		return ErrNoConsent
	}
	return nil
}

// ConsentChanged is called after a citizen withdraws a grant: without any
// consent to alerts left, the subscriptions (and their addresses) go.
func (s *Service) ConsentChanged(ctx context.Context, subject string) error {
	cats, err := s.consentedCategories(ctx, subject)
	if err != nil || len(cats) > 0 {
		return err
	}
	return s.cfg.Store.DeleteSubscriptions(ctx, subject)
}

// SubscriptionView is a subscription as the citizen sees it.
type SubscriptionView struct {
	Channel, Target, Lang string
	QuietFrom, QuietTo    int
	Since                 time.Time
	Confirmed             bool
}

// Subscriptions lists the subject's subscriptions, opened.
func (s *Service) Subscriptions(ctx context.Context, subject string) ([]SubscriptionView, error) {
	subs, err := s.cfg.Store.Subscriptions(ctx, subject)
	if err != nil {
		return nil, err
	}
	var out []SubscriptionView
	for _, sub := range subs {
		t, err := s.cfg.Sealer.Open(sub.Target, targetContext(subject, sub.Channel))
		if err != nil {
			return nil, err
		}
		target := string(t)
		if sub.Channel == Push {
			var ps notify.PushSubscription
			json.Unmarshal(t, &ps)
			if u, err := url.Parse(ps.Endpoint); err == nil {
				target = u.Host
			}
		}
		out = append(out, SubscriptionView{Channel: sub.Channel, Target: target, Lang: sub.Lang,
			QuietFrom: sub.QuietFrom, QuietTo: sub.QuietTo, Since: sub.CreatedAt, Confirmed: sub.Confirmed()})
	}
	return out, nil
}

// Clock writes minutes after midnight as a time of day, 21:00.
func Clock(minutes int) string { return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60) }

func targetContext(subject, channel string) []byte {
	return []byte("alerts/" + channel + "/" + subject)
}

// Token is the unsubscribe link's token for a subject's channel: the pair
// sealed (AES-GCM) under the token key, so the link names nobody, not even
// by pseudonym, and cannot be forged.
func (s *Service) Token(subject, channel string) string {
	nonce := make([]byte, s.tokens.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.tokens.Seal(nonce, nonce, []byte(subject+"\x00"+channel), []byte("obert unsubscribe")))
}

// ParseToken opens a token made by Token.
func (s *Service) ParseToken(token string) (subject, channel string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	n := s.tokens.NonceSize()
	if err != nil || len(b) < n+s.tokens.Overhead() {
		return "", "", false
	}
	plain, err := s.tokens.Open(nil, b[:n], b[n:], []byte("obert unsubscribe"))
	if err != nil {
		return "", "", false
	}
	subject, channel, ok = strings.Cut(string(plain), "\x00")
	return subject, channel, ok && subject != ""
}

// UnsubscribeURL is the one-click link carried by every alert.
func (s *Service) UnsubscribeURL(subject, channel string) string {
	return s.cfg.PublicURL + "/alerts/unsubscribe?t=" + s.Token(subject, channel)
}

// AidChanged queues the sweep of a published or changed aid, once per
// version: a version already queued (by this replica or another, before a
// restart) is not swept again. The catch-up job calls it for every aid, so
// a sweep whose queueing failed is queued later.
func (s *Service) AidChanged(ctx context.Context, id string) error {
	v := s.cfg.Recommender.Version(id)
	if v == "" {
		return nil
	}
	_, queued, err := s.cfg.Store.SweepQueued(ctx, id, v)
	if err != nil || queued {
		return err
	}
	if _, err := s.client.Insert(ctx, SweepArgs{Aid: id, Version: v}, uniqueByArgs); err != nil {
		return err
	}
	_, err = s.cfg.Store.QueueSweep(ctx, id, v, s.cfg.Now().UTC())
	return err
}

// Reevaluate queues the re-evaluation of a subscribed citizen whose data
// was just fetched, once a minute at most. The caller knows they
// subscribed: the gateway reads it in the transaction that keeps the
// data (store.PutFactsAllSubscribed), with no read of its own.
func (s *Service) Reevaluate(ctx context.Context, subject string) error {
	_, err := s.client.Insert(ctx, EvaluateArgs{Subject: subject}, &river.InsertOpts{
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: time.Minute}})
	return err
}

func (s *Service) newID() string {
	if s.cfg.NewID != nil {
		return s.cfg.NewID()
	}
	return "al_" + rand.Text()
}

// quietUntil returns when the quiet hours around t end, or the zero time
// if t is outside them.
func (s *Service) quietUntil(t time.Time, from, to int) time.Time {
	if from == to {
		return time.Time{}
	}
	lt := t.In(s.loc)
	m := lt.Hour()*60 + lt.Minute()
	in := (from < to && m >= from && m < to) || (from > to && (m >= from || m < to))
	if !in {
		return time.Time{}
	}
	end := time.Date(lt.Year(), lt.Month(), lt.Day(), to/60, to%60, 0, 0, s.loc)
	if !end.After(lt) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}

// atLeast passes on the records of h at level min or above.
type atLeast struct {
	h   slog.Handler
	min slog.Level
}

func (a atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= a.min && a.h.Enabled(ctx, l)
}
func (a atLeast) Handle(ctx context.Context, r slog.Record) error { return a.h.Handle(ctx, r) }
func (a atLeast) WithAttrs(as []slog.Attr) slog.Handler           { return atLeast{a.h.WithAttrs(as), a.min} }
func (a atLeast) WithGroup(n string) slog.Handler                 { return atLeast{a.h.WithGroup(n), a.min} }
