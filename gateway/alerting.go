package gateway

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/gateway/alerts"
	"github.com/obert-gov/obert/gateway/config"
	"github.com/obert-gov/obert/gateway/exchange"
	"github.com/obert-gov/obert/gateway/notify"
	"github.com/obert-gov/obert/gateway/recommend"
	"github.com/obert-gov/obert/gateway/web"
)

// RecordAll commits entries in batches of at most 1,000, giving those
// without one an id and the time.
func (r recorder) RecordAll(ctx context.Context, entries []audit.Entry) error {
	now := time.Now()
	for i := range entries {
		if entries[i].ID == "" {
			entries[i].ID = newEntryID()
		}
		if entries[i].Time.IsZero() {
			entries[i].Time = now
		}
	}
	for part := range slices.Chunk(entries, 1000) {
		start := time.Now()
		_, err := r.log.AppendAll(ctx, part)
		if r.t != nil {
			r.t.appended(len(part), start, err)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// alertsDeps are what the alerts service is built from.
type alertsDeps struct {
	root        []byte
	sealer      alerts.Sealer
	consents    *consent.Service
	ex          *exchange.Exchanger
	recommender *recommend.Recommender
	rec         recorder
	cat         *web.Catalogue
	refresh     func(context.Context) error // brings this process to the catalogue's newest version
}

// withAlerts builds the proactive alerts (New starts their jobs): e-mail through
// OBERT_SMTP_URL (in dev without it, the development mail box), web push
// with a VAPID key derived from the root secret, jobs on the gateway's
// database.
func (g *Gateway) withAlerts(cfg config.Config, d alertsDeps, log *slog.Logger) (*alerts.Service, *notify.Mailer, error) {
	var mailer *notify.Mailer
	var err error
	switch {
	case cfg.SMTPURL != "":
		if mailer, err = notify.NewMailer(cfg.SMTPURL); err != nil {
			return nil, nil, fmt.Errorf("gateway: OBERT_SMTP_URL: %w", err)
		}
	case cfg.DevMode():
		sink, err := notify.StartSink(cfg.DevSMTPAddr)
		if err != nil {
			return nil, nil, fmt.Errorf("gateway: development mail box on %s: %w", cfg.DevSMTPAddr, err)
		}
		g.closers = append(g.closers, func(context.Context) error { return sink.Close() })
		if g.Dev == nil {
			g.Dev = &DevSetup{}
		}
		g.Dev.Mail = sink
		if mailer, err = notify.NewMailer(sink.URL("avisos@obert.localhost")); err != nil {
			return nil, nil, err
		}
	default:
		log.Warn("no OBERT_SMTP_URL: alerts by e-mail are off")
	}
	vapid, err := hkdf.Key(sha256.New, d.root, nil, "obert web push vapid key v1", 32)
	if err != nil {
		return nil, nil, err
	}
	public := strings.TrimSuffix(cfg.PublicURL, "/")
	pusher, err := notify.NewPusher(vapid, public+"/privacy", &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		return nil, nil, err
	}
	tokenKey, err := hkdf.Key(sha256.New, d.root, nil, "obert alerts unsubscribe v1", 32)
	if err != nil {
		return nil, nil, err
	}
	svc, err := alerts.New(alerts.Config{
		Store: g.Store, Dates: g.Store, Batch: g.Store, Sealer: d.sealer, Consents: d.consents, Objections: g.Store,
		Exchanger: d.ex, Recommender: d.recommender, Audit: d.rec, Mailer: mailer, Pusher: pusher,
		Texts: d.cat.T, PublicURL: public, TokenKey: tokenKey, Driver: g.Store.JobDriver(),
		AllowHTTPPush: cfg.DevMode(), Log: log, Refresh: d.refresh,
	})
	if err != nil {
		return nil, nil, err
	}
	return svc, mailer, nil
}

var devMailPage = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Development mail box</title><link rel="stylesheet" href="/static/obert.css">
<main><p class="dev-banner">Development mode: this mail box keeps what the gateway sends; nothing leaves this machine.</p>
<h1>Development mail box</h1>
{{range .}}<article><h2>{{.Subject}}</h2><p><small>To {{.To}} · {{.At}}</small></p><pre>{{.Body}}</pre></article>
{{else}}<p>No mail yet.</p>{{end}}</main></html>`))

type devMail struct{ Subject, To, At, Body string }

// devMailBox lists what the development mail box received, newest first.
func devMailBox(sink *notify.Sink) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		var out []devMail
		msgs := sink.Messages()
		for i := len(msgs) - 1; i >= 0; i-- {
			m := msgs[i]
			dm := devMail{To: strings.Join(m.To, ", "), At: m.At.Format(time.RFC3339)}
			dm.Subject, _ = m.Subject()
			dm.Body, _ = m.Text()
			out = append(out, dm)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		devMailPage.Execute(w, out)
	}
}
