package gateway

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/obert-gov/obert/gateway/activity"
	"github.com/obert-gov/obert/gateway/folder"
	"github.com/obert-gov/obert/gateway/notify"
	"github.com/obert-gov/obert/gateway/store"
)

// activityNotices tells citizens who asked for it, by e-mail, that a
// notification waits for them in their folder: never what it says, nor
// who sent it. The rounds read the citizens' notifications on their own
// standing request, each read an audit entry like theirs.
type activityNotices struct {
	store  *store.Store
	sealer interface {
		Seal(plaintext, context []byte) []byte
		Open(sealed, context []byte) ([]byte, error)
	}
	act    *activity.Service
	mailer *notify.Mailer // nil: no e-mail, no notices
	texts  func(lang, key string, args ...any) string
	public string
	holder string // this replica, for the round's lease
	log    *slog.Logger
}

// noticeTarget is what a notice keeps, sealed.
type noticeTarget struct {
	Email     string `json:"email"`
	Lang      string `json:"lang"`
	DocType   string `json:"doc_type"`
	DocNumber string `json:"doc_number"`
}

func noticeContext(subject string) []byte { return []byte("activity-notice/" + subject) }

// Notice implements folder.Notices: the address the citizen is told at,
// or "".
func (n activityNotices) Notice(ctx context.Context, subject string) (string, error) {
	st, ok, err := n.store.ActivityNoticeOf(ctx, subject)
	if err != nil || !ok {
		return "", err
	}
	t, err := n.open(st)
	return t.Email, err
}

// SetNotice implements folder.Notices.
func (n activityNotices) SetNotice(ctx context.Context, v folder.Viewer, email, lang string) error {
	a, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || a.Name != "" || len(a.Address) > 254 {
		return folder.ErrBadEmail
	}
	b, _ := json.Marshal(noticeTarget{Email: a.Address, Lang: lang, DocType: v.Citizen.Titular.DocType, DocNumber: v.Citizen.Titular.DocNumber})
	return n.store.PutActivityNotice(ctx, store.ActivityNotice{Subject: v.Subject, Sealed: n.sealer.Seal(b, noticeContext(v.Subject)),
		CreatedAt: time.Now().UTC()})
}

// RemoveNotice implements folder.Notices.
func (n activityNotices) RemoveNotice(ctx context.Context, subject string) error {
	return n.store.DeleteActivityNotice(ctx, subject)
}

func (n activityNotices) open(st store.ActivityNotice) (noticeTarget, error) {
	b, err := n.sealer.Open(st.Sealed, noticeContext(st.Subject))
	if err != nil {
		return noticeTarget{}, err
	}
	var t noticeTarget
	return t, json.Unmarshal(b, &t)
}

// Round reads the notifications of every citizen who asked to be told and
// sends one e-mail per notification that waits and was not told of yet
// (claimed first, so once whichever replica sends it). One replica runs a
// round at a time. It returns how many e-mails it sent.
func (n activityNotices) Round(ctx context.Context) (int, error) {
	if n.mailer == nil {
		return 0, nil
	}
	now := time.Now()
	if ok, err := n.store.TryLease(ctx, "activity-notices", n.holder, now, now.Add(10*time.Minute)); err != nil || !ok {
		return 0, err
	}
	notices, err := n.store.ActivityNotices(ctx)
	if err != nil {
		return 0, err
	}
	sent := 0
	var errs []error
	for _, st := range notices {
		t, err := n.open(st)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ov, err := n.act.Overview(ctx, activity.Citizen{Subject: st.Subject, LoA: "low", DocType: t.DocType, DocNumber: t.DocNumber})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, x := range ov.Notifications {
			if x.State != activity.Pending {
				continue
			}
			fresh, err := n.store.ClaimNoticed(ctx, st.Subject, x.Source, x.ID, now.UTC())
			if err != nil || !fresh {
				if err != nil {
					errs = append(errs, err)
				}
				continue
			}
			msg := notify.Message{To: t.Email, Subject: n.texts(t.Lang, "activity.notice.subject"),
				Text: n.texts(t.Lang, "activity.notice.body", n.public+"/folder/activity"), MessageID: "notice-" + rand.Text()}
			if err := n.mailer.Send(ctx, msg); err != nil {
				errs = append(errs, fmt.Errorf("notice: %w", err))
				continue
			}
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// noticesLoop runs a round of notices every interval until ctx ends.
func (n activityNotices) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := n.Round(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("activity notices round", "err", err)
		}
	}
}

// ActivityNotices runs one round of notices now (gatewayd runs one every
// 15 minutes); it returns how many e-mails were sent.
func (g *Gateway) ActivityNotices(ctx context.Context) (int, error) { return g.notices.Round(ctx) }
