// Package notify delivers alerts: e-mail over SMTP (github.com/wneessen/go-mail)
// and web push with VAPID (github.com/SherClockHolmes/webpush-go). It knows
// nothing of aids or consent: it is given a finished message and a target.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/wneessen/go-mail"
)

// Message is one e-mail.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// MessageID is stable for an alert: a retried send carries the same
	// one, so a receiver can drop the duplicate.
	MessageID string
	// Unsubscribe is the https link that ends the subscription in one
	// click (RFC 8058); it also goes in the List-Unsubscribe header.
	Unsubscribe string
}

// Mailer sends e-mail through one SMTP server.
type Mailer struct {
	host string
	from string
	opts []mail.Option
}

// NewMailer reads an SMTP URL:
//
//	smtp://[user:password@]host[:port]?from=alerts@example.org[&starttls=mandatory|opportunistic|none]
//	smtps://[user:password@]host[:port]?from=…   (TLS from the first byte)
//
// STARTTLS is mandatory unless the URL says otherwise.
func NewMailer(raw string) (*Mailer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("notify: SMTP URL: %w", err)
	}
	if u.Scheme != "smtp" && u.Scheme != "smtps" {
		return nil, errors.New("notify: SMTP URL: the scheme must be smtp or smtps")
	}
	from := u.Query().Get("from")
	if from == "" {
		return nil, errors.New("notify: SMTP URL: from= (the sender address) is required")
	}
	host := u.Hostname()
	if host == "" {
		return nil, errors.New("notify: SMTP URL: no host")
	}
	m := &Mailer{host: host, from: from}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("notify: SMTP URL: port %q", p)
		}
		m.opts = append(m.opts, mail.WithPort(port))
	}
	if u.Scheme == "smtps" {
		m.opts = append(m.opts, mail.WithSSL())
		if u.Port() == "" {
			m.opts = append(m.opts, mail.WithPort(465))
		}
	} else {
		switch u.Query().Get("starttls") {
		case "", "mandatory":
			m.opts = append(m.opts, mail.WithTLSPolicy(mail.TLSMandatory))
		case "opportunistic":
			m.opts = append(m.opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
		case "none":
			m.opts = append(m.opts, mail.WithTLSPolicy(mail.NoTLS))
		default:
			return nil, errors.New("notify: SMTP URL: starttls is mandatory, opportunistic or none")
		}
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		m.opts = append(m.opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(u.User.Username()), mail.WithPassword(pw))
	}
	return m, nil
}

// Send sends msg and returns once the server accepted it.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	e := mail.NewMsg()
	if err := e.From(m.from); err != nil {
		return fmt.Errorf("notify: from: %w", err)
	}
	if err := e.To(msg.To); err != nil {
		return fmt.Errorf("notify: to: %w", err)
	}
	e.Subject(msg.Subject)
	e.SetDate()
	if msg.MessageID != "" {
		e.SetMessageIDWithValue(msg.MessageID)
	}
	if msg.Unsubscribe != "" {
		e.SetGenHeader(mail.HeaderListUnsubscribe, "<"+msg.Unsubscribe+">")
		e.SetGenHeader(mail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	}
	e.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	e.SetBodyString(mail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		e.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	}
	c, err := mail.NewClient(m.host, m.opts...)
	if err != nil {
		return fmt.Errorf("notify: SMTP client: %w", err)
	}
	if err := c.DialAndSendWithContext(ctx, e); err != nil {
		return fmt.Errorf("notify: SMTP send: %w", err)
	}
	return nil
}
