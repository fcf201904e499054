package alerts

import (
	"context"
	"errors"
	"time"
)

// Channels a citizen can subscribe.
const (
	Email = "email"
	Push  = "push"
)

// Delivery states.
const (
	StateSending = "sending" // claimed; the message may be on its way
	StateSent    = "sent"
	StateKnown   = "known" // the aid already fitted at subscription: nothing is sent
)

// ErrNotFound means no such subscription.
var ErrNotFound = errors.New("alerts: not found")

// Subscription is one channel a citizen subscribed.
type Subscription struct {
	Subject string
	Channel string
	Target  []byte // sealed: an e-mail address, or a web push subscription (JSON)
	Lang    string
	// LoA is the level of assurance of the sign-in that subscribed:
	// background evaluations present it to the guard.
	LoA string
	// Quiet hours, in minutes after midnight, Europe/Madrid; From == To
	// means none.
	QuietFrom, QuietTo int
	CreatedAt          time.Time
	// ConfirmedAt is when the owner of an e-mail address confirmed it
	// (zero: not yet, and nothing is sent to it); ConfirmHash and
	// ConfirmUntil are the pending link's (SHA-256 of its token, hex).
	ConfirmedAt  time.Time
	ConfirmHash  string
	ConfirmUntil time.Time
}

// Confirmed reports whether alerts may be sent on s.
func (s Subscription) Confirmed() bool { return !s.ConfirmedAt.IsZero() }

// Subscriber is a subscribed citizen as a sweep sees them.
type Subscriber struct {
	Subject string
	LoA     string
	// Since is when the citizen first subscribed: the aids published
	// before then were marked known by the evaluation at subscription.
	Since time.Time
}

// Store keeps subscriptions, deliveries and sweeps.
type Store interface {
	PutSubscription(ctx context.Context, s Subscription) error
	Subscriptions(ctx context.Context, subject string) ([]Subscription, error)
	// DeleteSubscription reports whether there was one.
	DeleteSubscription(ctx context.Context, subject, channel string) (bool, error)
	DeleteSubscriptions(ctx context.Context, subject string) error
	// ConfirmSubscription confirms, at, the subscription whose pending
	// link has the hash, if the link has not expired or been used; it
	// returns the subscription's subject and channel, and whether one was
	// confirmed.
	ConfirmSubscription(ctx context.Context, hash string, at time.Time) (subject, channel string, ok bool, err error)
	// Subscribers lists subscribed citizens after the subject after and up
	// to upto (no bound if empty), in subject order, at most limit of them,
	// leaving out those who object to objection.
	Subscribers(ctx context.Context, after, upto string, limit int, objection string) ([]Subscriber, error)
	// Told returns, of subjects (sorted), those with a delivery of key on
	// any channel, in any state.
	Told(ctx context.Context, subjects []string, key string) (map[string]bool, error)
	// KeysOf returns every alert key the subject has a delivery for.
	KeysOf(ctx context.Context, subject string) (map[string]bool, error)
	// Claim records a delivery of key on channel as being sent, unless one
	// exists; it returns the state found (StateSending when it is new or a
	// previous attempt did not finish).
	Claim(ctx context.Context, subject, key, channel string, at time.Time) (string, error)
	// Mark sets a delivery's state.
	Mark(ctx context.Context, subject, key, channel, state string, at time.Time) error
	// MarkKnown records keys as known to the subject (no message).
	MarkKnown(ctx context.Context, subject string, keys []string, at time.Time) error
	// QueueSweep records that the sweep of an aid version is queued and
	// reports whether it was new.
	QueueSweep(ctx context.Context, aid, version string, at time.Time) (bool, error)
	// SweepQueued reports whether the sweep of an aid version was queued,
	// and when first.
	SweepQueued(ctx context.Context, aid, version string) (time.Time, bool, error)
}
