package folder

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/gateway/web"
)

// Session is one of the citizen's sessions, as they see it.
type Session struct {
	ID, Provider, LoA, Client string
	CreatedAt, LastSeen       time.Time
	Current                   bool // the session this page is shown in
}

// Signins are the citizen's live sessions.
type Signins interface {
	SessionsOf(r *http.Request, subject string) ([]Session, error)
	// EndSession ends one of the subject's sessions (ErrNotFound when it
	// is not theirs or is gone).
	EndSession(ctx context.Context, subject, id string) error
}

// ErrNotFound is something asked for that the citizen does not have.
var ErrNotFound = errors.New("folder: not found")

// madrid is the time zone citizens read times in; the pages say so.
var madrid = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return l
	}
	return time.UTC
}()

type sessionView struct {
	ID, Provider, LoA, Client, Since, Seen string
	Current                                bool
}

type signinView struct {
	When, Provider, LoA, Client string
	Failed                      bool
}

// signinsShow handles GET /folder/signins: the live sessions, each with a
// way to end it, and the last sign-ins.
func (h *Handler) signinsShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	lang := web.Lang(r)
	when := func(t time.Time) string { t = t.In(madrid); return dateIn(lang, t) + " " + t.Format("15:04") }
	sessions, err := h.deps.Signins.SessionsOf(r, v.Subject)
	if err != nil {
		h.deps.Logger.Error("sessions", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	var live []sessionView
	for _, s := range sessions {
		live = append(live, sessionView{ID: s.ID, Provider: h.named(lang, "org.", s.Provider), LoA: s.LoA, Client: s.Client,
			Since: when(s.CreatedAt), Seen: when(s.LastSeen), Current: s.Current})
	}
	entries, err := h.deps.AccessLog.EntriesOf(r.Context(), v.Subject, audit.Filter{})
	if err != nil {
		h.deps.Logger.Error("sign-in history", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	var history []signinView
	for _, e := range entries {
		if e.Kind != audit.KindSignIn && e.Kind != audit.KindSignInFailed {
			continue
		}
		history = append(history, signinView{When: when(e.Time), Provider: h.named(lang, "org.", e.Requester), LoA: e.Error,
			Client: e.Client, Failed: e.Kind == audit.KindSignInFailed})
		if len(history) == 50 {
			break
		}
	}
	h.render(w, r, http.StatusOK, "signins", "signins.title", map[string]any{"Sessions": live, "History": history,
		"Done": r.URL.Query().Get("done") == "ended"})
}

// signinsEnd handles POST /folder/signins/{id}/end: ends one session; the
// citizen's own ends as signing out does.
func (h *Handler) signinsEnd(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	switch err := h.deps.Signins.EndSession(r.Context(), v.Subject, r.PathValue("id")); {
	case errors.Is(err, ErrNotFound):
		h.Error(w, r, http.StatusNotFound, "error.session_not_found")
		return
	case err != nil:
		h.deps.Logger.Error("end session", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	http.Redirect(w, r, "/folder/signins?done=ended", http.StatusSeeOther)
}
