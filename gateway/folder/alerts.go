package folder

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/web"
)

// Alerts are the proactive alerts (phase 3) as the pages use them.
type Alerts interface {
	Channels() []string
	VAPIDKey() string
	Subscriptions(ctx context.Context, subject string) ([]alerts.SubscriptionView, error)
	Subscribe(ctx context.Context, r alerts.SubscribeRequest) error
	Unsubscribe(ctx context.Context, subject, channel string) (bool, error)
	ParseToken(token string) (subject, channel string, ok bool)
	// Confirm confirms an address by its link's token (alerts.ErrLinkUsed
	// when unknown, used or expired); Resend sends a new link.
	Confirm(ctx context.Context, token string) error
	Resend(ctx context.Context, subject string) error
}

type subscriptionView struct {
	Channel, ChannelKey, Target, Quiet, Since string
	Confirmed                                 bool
}

// alertsShow is the alerts page: what the citizen consented to, their
// subscriptions, and the forms to add or remove one.
func (h *Handler) alertsShow(w http.ResponseWriter, r *http.Request) {
	h.alertsPage(w, r, http.StatusOK, "", nil)
}

func (h *Handler) alertsPage(w http.ResponseWriter, r *http.Request, status int, problemKey string, form map[string]string) {
	v, ok := h.person(w, r)
	if !ok {
		return
	}
	lang := web.Lang(r)
	subs, err := h.deps.Alerts.Subscriptions(r.Context(), v.Subject)
	if err != nil {
		h.deps.Logger.Error("subscriptions", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	grants, err := h.deps.Consents.List(r.Context(), v.Subject)
	if err != nil {
		h.deps.Logger.Error("grants", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	var consented []string
	now := h.opts.Now()
	for _, g := range grants {
		if g.Purpose == alerts.Purpose && g.ActiveAt(now) {
			consented = append(consented, h.deps.Catalogue.T(lang, "category."+g.Category))
		}
	}
	obj, err := h.deps.Rights.Objections(r.Context(), v.Subject)
	if err != nil {
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	_, objected := obj[ObjectionProfiling]
	var views []subscriptionView
	for _, s := range subs {
		sv := subscriptionView{Channel: s.Channel, ChannelKey: "alerts.channel." + s.Channel, Target: s.Target,
			Since: dateIn(lang, s.Since), Confirmed: s.Confirmed}
		if s.QuietFrom != s.QuietTo {
			sv.Quiet = h.deps.Catalogue.T(lang, "alerts.quiet_from_to", alerts.Clock(s.QuietFrom), alerts.Clock(s.QuietTo))
		}
		views = append(views, sv)
	}
	if form == nil {
		form = map[string]string{"quiet_from": "21:00", "quiet_to": "09:00"}
	}
	channels := map[string]bool{}
	for _, c := range h.deps.Alerts.Channels() {
		channels[c] = true
	}
	h.render(w, r, status, "alerts", "alerts.title", map[string]any{
		"Consented": strings.Join(consented, ", "), "Objected": objected, "Subscriptions": views,
		"Email": channels[alerts.Email], "Push": channels[alerts.Push], "VAPIDKey": h.deps.Alerts.VAPIDKey(),
		"ProblemKey": problemKey, "Form": form,
	})
}

// parseHHMM reads a time of day as minutes after midnight.
func parseHHMM(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hi, err1 := strconv.Atoi(h)
	mi, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hi < 0 || hi > 23 || mi < 0 || mi > 59 || len(m) != 2 {
		return 0, false
	}
	return hi*60 + mi, true
}

// alertsSubscribe subscribes a channel: e-mail from the form, web push
// from the browser's subscription (sent by alerts.js).
func (h *Handler) alertsSubscribe(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	channel := r.PostFormValue("channel")
	form := map[string]string{"email": r.PostFormValue("email"), "quiet_from": r.PostFormValue("quiet_from"),
		"quiet_to": r.PostFormValue("quiet_to")}
	from, ok1 := parseHHMM(form["quiet_from"])
	to, ok2 := parseHHMM(form["quiet_to"])
	if form["quiet_from"] == "" && form["quiet_to"] == "" {
		from, to, ok1, ok2 = 0, 0, true, true
	}
	if !ok1 || !ok2 {
		h.alertsPage(w, r, http.StatusBadRequest, "alerts.error.quiet", form)
		return
	}
	target := form["email"]
	if channel == alerts.Push {
		target = r.PostFormValue("subscription")
	}
	err := h.deps.Alerts.Subscribe(r.Context(), alerts.SubscribeRequest{Subject: v.Subject, LoA: v.LoA, Lang: web.Lang(r),
		Channel: channel, Target: target, QuietFrom: from, QuietTo: to})
	switch {
	case err == nil:
		http.Redirect(w, r, "/folder/alerts?done=alerts_subscribed", http.StatusSeeOther)
	case errors.Is(err, alerts.ErrNoConsent):
		h.alertsPage(w, r, http.StatusConflict, "alerts.error.no_consent", form)
	case errors.Is(err, alerts.ErrObjected):
		h.alertsPage(w, r, http.StatusConflict, "alerts.error.objected", form)
	case errors.Is(err, alerts.ErrTarget):
		h.alertsPage(w, r, http.StatusBadRequest, "alerts.error.target_"+channel, form)
	case errors.Is(err, alerts.ErrChannel):
		h.alertsPage(w, r, http.StatusBadRequest, "alerts.error.channel", form)
	case errors.Is(err, alerts.ErrQuiet):
		h.alertsPage(w, r, http.StatusBadRequest, "alerts.error.quiet", form)
	case errors.Is(err, consent.ErrNoConsent):
		h.alertsPage(w, r, http.StatusConflict, "alerts.error.no_consent", form)
	default:
		h.deps.Logger.Error("subscribe", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	}
}

// alertsRemove ends one channel's subscription from the folder.
func (h *Handler) alertsRemove(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	channel := r.PathValue("channel")
	if channel != alerts.Email && channel != alerts.Push {
		h.Error(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if _, err := h.deps.Alerts.Unsubscribe(r.Context(), v.Subject, channel); err != nil {
		h.deps.Logger.Error("unsubscribe", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	http.Redirect(w, r, "/folder/alerts?done=alerts_removed", http.StatusSeeOther)
}

// unsubscribeLink serves the link every alert carries: GET asks to confirm
// (link checkers must not unsubscribe anyone), POST unsubscribes, from the
// page's button or as a mail client's one-click (RFC 8058). The token in
// the link is the authority; no sign-in is needed.
func (h *Handler) unsubscribeLink(w http.ResponseWriter, r *http.Request) {
	subject, channel, ok := h.deps.Alerts.ParseToken(r.URL.Query().Get("t"))
	if !ok {
		h.Error(w, r, http.StatusBadRequest, "alerts.error.link")
		return
	}
	data := map[string]any{"Action": r.URL.RequestURI(), "ChannelKey": "alerts.channel." + channel}
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "unsubscribe", "alerts.unsubscribe_title", data)
		return
	}
	if _, err := h.deps.Alerts.Unsubscribe(r.Context(), subject, channel); err != nil {
		h.deps.Logger.Error("unsubscribe", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	data["Done"] = true
	h.render(w, r, http.StatusOK, "unsubscribe", "alerts.unsubscribe_title", data)
}

// confirmLink confirms an e-mail address from the link sent to it: the
// link shows a page with a button (a mail scanner that follows links does
// not confirm), whose POST confirms once.
func (h *Handler) confirmLink(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	if len(token) < 20 || len(token) > 100 {
		h.Error(w, r, http.StatusBadRequest, "alerts.error.link")
		return
	}
	data := map[string]any{"Action": r.URL.RequestURI()}
	if r.Method == http.MethodGet {
		h.render(w, r, http.StatusOK, "confirm", "alerts.confirm_title", data)
		return
	}
	switch err := h.deps.Alerts.Confirm(r.Context(), token); {
	case errors.Is(err, alerts.ErrLinkUsed):
		h.Error(w, r, http.StatusGone, "alerts.confirm_used")
	case err != nil:
		h.deps.Logger.Error("confirm address", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
	default:
		data["Done"] = true
		h.render(w, r, http.StatusOK, "confirm", "alerts.confirm_title", data)
	}
}

// alertsResend sends a new confirmation link.
func (h *Handler) alertsResend(w http.ResponseWriter, r *http.Request) {
	v, ok := h.person(w, r)
	if !ok || !h.form(w, r, &v) {
		return
	}
	if err := h.deps.Alerts.Resend(r.Context(), v.Subject); err != nil && !errors.Is(err, alerts.ErrLinkUsed) {
		h.deps.Logger.Error("resend confirmation", "err", err)
		h.Error(w, r, http.StatusServiceUnavailable, "error.unavailable")
		return
	}
	http.Redirect(w, r, "/folder/alerts?done=confirm_sent", http.StatusSeeOther)
}

// serviceWorker is the web push service worker; it must be served from the
// root to receive pushes for the whole site.
func serviceWorker(w http.ResponseWriter, r *http.Request) {
	b, err := staticFS.ReadFile("static/sw.js")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}
