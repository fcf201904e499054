package activity

import (
	"errors"
	"time"
)

// Kinds of activity, each served by its own sources.
const (
	Applications  = "applications"
	Notifications = "notifications"
)

// Notification states.
const (
	Pending  = "pending"
	Accepted = "accepted"
	Rejected = "rejected"
	// Expired is a notification not opened within ten calendar days of
	// being made available: it counts as rejected (Law 39/2015, art. 43.2).
	Expired = "expired"
)

// LegalBasis is the basis named in every audit entry of this package.
const LegalBasis = "own-dealings: the citizen's own request (Law 39/2015, art. 53.1.a)"

// Audit entry kinds.
const (
	KindRead   = "activity.read"
	KindAccept = "activity.accept"
	KindReject = "activity.reject"
)

// Errors.
var (
	ErrAuditUnavailable = errors.New("activity: the audit log cannot be written; nothing is shown")
	ErrNotFound         = errors.New("activity: no such notification")
	ErrExpired          = errors.New("activity: the notification counts as rejected: ten days passed unopened")
	ErrDecided          = errors.New("activity: the notification was already decided otherwise")
	ErrLevelTooLow      = errors.New("activity: notifications need a sign-in at level substantial or higher")
	ErrSource           = errors.New("activity: the source did not answer as it must")
)

// Text is one text in each language (ca, es, en).
type Text map[string]string

// In returns the text in lang, or in Catalan.
func (t Text) In(lang string) string {
	if s := t[lang]; s != "" {
		return s
	}
	return t["ca"]
}

// Application is one procedure the citizen started.
type Application struct {
	ID             string
	Source         string // the activity source it came from
	Administration Text
	Procedure      Text
	Started        time.Time
	State          string // submitted | in-review | more-info | granted | denied
	History        []Step
	NextStep       string    // provide-documents | wait-resolution | none
	Deadline       time.Time // zero without one (a date, Madrid)
	Documents      []Document
}

// Step is one state an application passed through, and when.
type Step struct {
	State string
	At    time.Time
}

// Document is one document in a case file.
type Document struct {
	Name Text
	At   time.Time
}

// Notification is one notification addressed to the citizen.
type Notification struct {
	ID             string
	Source         string
	Administration Text
	Subject        Text
	Posted         time.Time // when it was made available
	State          string
	DecidedAt      time.Time
	// OpenUntil is the first instant it counts as rejected if unopened.
	OpenUntil time.Time
	// Content is present only once accepted, and shown only at level
	// substantial or higher.
	Content Text
}

// LastDay is the last calendar day (Madrid) the notification may be opened.
func (n Notification) LastDay() time.Time { return n.OpenUntil.AddDate(0, 0, -1) }

var madrid = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return l
	}
	return time.UTC
}()

// Madrid is the time zone calendar days are counted in.
func Madrid() *time.Location { return madrid }

// OpenUntil is the first instant a notification made available at posted
// counts as rejected if unopened: the ten calendar days count from the day
// after it was made available (Law 39/2015, arts. 30.2 and 43.2), in
// Madrid, so it ends at the start of the eleventh day.
func OpenUntil(posted time.Time) time.Time {
	t := posted.In(madrid)
	return time.Date(t.Year(), t.Month(), t.Day()+11, 0, 0, 0, 0, madrid)
}

// StateAt is a notification's state at now: what was decided, or expired
// once its ten days passed undecided, or pending.
func StateAt(decided string, posted, now time.Time) string {
	switch {
	case decided == Accepted || decided == Rejected:
		return decided
	case !now.Before(OpenUntil(posted)):
		return Expired
	}
	return Pending
}

// Failure is a source that did not answer.
type Failure struct {
	Source string
	Kind   string
	Err    error
}

// Overview is what the citizen's activity page shows.
type Overview struct {
	Applications  []Application
	Notifications []Notification
	Failed        []Failure
}

// Citizen is who asks about their own dealings.
type Citizen struct {
	Subject   string // the subject key
	LoA       string // low | substantial | high
	DocType   string
	DocNumber string
}

// Substantial reports whether the sign-in level lets notifications be
// opened.
func (c Citizen) Substantial() bool { return c.LoA == "substantial" || c.LoA == "high" }
