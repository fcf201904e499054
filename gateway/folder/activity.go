package folder

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/obert-gov/obert/gateway/activity"
	"github.com/obert-gov/obert/gateway/web"
)

// Activity is the citizen's own dealings with administrations: their
// applications and notifications.
// Notices are the e-mails that tell a citizen a notification waits.
type Notices interface {
	// Notice is the address the citizen is told at, or "".
	Notice(ctx context.Context, subject string) (string, error)
	SetNotice(ctx context.Context, v Viewer, email, lang string) error
	RemoveNotice(ctx context.Context, subject string) error
}

type Activity interface {
	// Overview reads every source; activity.ErrAuditUnavailable when the
	// reads cannot be recorded (then nothing is shown).
	Overview(ctx context.Context, v Viewer) (activity.Overview, error)
	Decide(ctx context.Context, v Viewer, source, id, decision string) (activity.Notification, error)
	// Acknowledgement is the signed acknowledgement of a decision, as a file.
	Acknowledgement(ctx context.Context, v Viewer, source, id string) ([]byte, error)
}

type applicationView struct {
	ID, Procedure, Administration, Started, StateKey, NextKey, Deadline, DeadlineISO string
	History                                                                          []stepView
	Documents                                                                        []stepView
}

type stepView struct{ Label, When string }

type notificationView struct {
	ID, Source, Subject, Administration, Posted, StateKey, LastDay string
	Content                                                        string
	Pending, Accepted, Decided                                     bool
}

// activityShow handles GET /folder/activity: applications and
// notifications from every source, the sources that did not answer named.
func (h *Handler) activityShow(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	if h.deps.Activity == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	ov, err := h.deps.Activity.Overview(r.Context(), v)
	if err != nil {
		h.deps.Logger.Error("activity", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	lang, c := web.Lang(r), h.deps.Catalogue
	day := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return dateIn(lang, t.In(madrid))
	}
	var apps []applicationView
	for _, a := range ov.Applications {
		av := applicationView{ID: a.ID, Procedure: a.Procedure.In(lang), Administration: a.Administration.In(lang), Started: day(a.Started),
			StateKey: "activity.state." + a.State, NextKey: "activity.next." + a.NextStep, Deadline: day(a.Deadline)}
		if !a.Deadline.IsZero() {
			av.DeadlineISO = a.Deadline.Format(time.DateOnly)
		}
		for _, s := range a.History {
			av.History = append(av.History, stepView{Label: c.T(lang, "activity.state."+s.State), When: day(s.At)})
		}
		for _, d := range a.Documents {
			av.Documents = append(av.Documents, stepView{Label: d.Name.In(lang), When: day(d.At)})
		}
		apps = append(apps, av)
	}
	var notes []notificationView
	for _, n := range ov.Notifications {
		posted := n.Posted.In(madrid)
		nv := notificationView{ID: n.ID, Source: n.Source, Subject: n.Subject.In(lang), Administration: n.Administration.In(lang),
			Posted: dateIn(lang, posted) + " " + posted.Format("15:04"), StateKey: "activity.nstate." + n.State, LastDay: day(n.LastDay()),
			Content: n.Content.In(lang), Pending: n.State == activity.Pending, Accepted: n.State == activity.Accepted,
			Decided: n.State == activity.Accepted || n.State == activity.Rejected}
		notes = append(notes, nv)
	}
	var failed []string
	for _, f := range ov.Failed {
		failed = append(failed, h.named(lang, "org.", f.Source))
	}
	done := ""
	if d := r.URL.Query().Get("done"); d == "accepted" || d == "rejected" || d == "notice_on" || d == "notice_off" {
		done = "activity.done." + d
	}
	notice := ""
	if h.deps.Notices != nil {
		if notice, err = h.deps.Notices.Notice(r.Context(), v.Subject); err != nil {
			h.deps.Logger.Error("activity notice", "err", err)
		}
	}
	h.render(w, r, http.StatusOK, "activity", "activity.title", map[string]any{"Applications": apps, "Notifications": notes,
		"Failed": failed, "Substantial": v.LoA == "substantial" || v.LoA == "high", "Done": done,
		"SignInAgain": StepUp(v, "substantial", "/folder/activity"), "Notices": h.deps.Notices != nil, "Notice": notice})
}

// activityNotice handles POST /folder/activity/notice: tell me by e-mail
// when a notification waits (delete=1: stop).
func (h *Handler) activityNotice(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	if h.deps.Notices == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if r.PostFormValue("delete") == "1" {
		if err := h.deps.Notices.RemoveNotice(r.Context(), v.Subject); err != nil {
			h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
			return
		}
		http.Redirect(w, r, "/folder/activity?done=notice_off", http.StatusSeeOther)
		return
	}
	switch err := h.deps.Notices.SetNotice(r.Context(), v, r.PostFormValue("email"), web.Lang(r)); {
	case errors.Is(err, ErrBadEmail):
		h.Error(w, r, http.StatusBadRequest, "alerts.error.target_email")
	case err != nil:
		h.deps.Logger.Error("activity notice", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	default:
		http.Redirect(w, r, "/folder/activity?done=notice_on", http.StatusSeeOther)
	}
}

// ErrBadEmail is an e-mail address that is not one.
var ErrBadEmail = errors.New("folder: not an e-mail address")

// activityDecide handles POST /folder/activity/{source}/{id}/{decision}.
func (h *Handler) activityDecide(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	if h.deps.Activity == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	decision := map[string]string{"accept": activity.Accepted, "reject": activity.Rejected}[r.PathValue("decision")]
	if decision == "" {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	_, err := h.deps.Activity.Decide(r.Context(), v, r.PathValue("source"), r.PathValue("id"), decision)
	switch {
	case errors.Is(err, activity.ErrLevelTooLow):
		h.Error(w, r, http.StatusForbidden, "error.activity_level")
	case errors.Is(err, activity.ErrNotFound):
		h.Error(w, r, http.StatusNotFound, "error.activity_not_found")
	case errors.Is(err, activity.ErrExpired):
		h.Error(w, r, http.StatusConflict, "error.activity_expired")
	case errors.Is(err, activity.ErrDecided):
		h.Error(w, r, http.StatusConflict, "error.activity_decided")
	case err != nil:
		h.deps.Logger.Error("activity decision", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	default:
		http.Redirect(w, r, "/folder/activity?done="+decision+"#n-"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
	}
}

// activityAck handles GET /folder/activity/{source}/{id}/acknowledgement.
func (h *Handler) activityAck(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	if h.deps.Activity == nil {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	id := r.PathValue("id")
	b, err := h.deps.Activity.Acknowledgement(r.Context(), v, r.PathValue("source"), id)
	if errors.Is(err, activity.ErrNotFound) {
		h.Error(w, r, http.StatusNotFound, "error.activity_not_found")
		return
	}
	if err != nil {
		h.deps.Logger.Error("activity acknowledgement", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="obert-notification-ack-`+safeName(id)+`.json"`)
	w.Write(b)
}
