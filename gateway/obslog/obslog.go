// Package obslog is the gateway's log/slog handler that never lets personal
// data through: attributes whose names mark them personal or secret are
// replaced, and document numbers, e-mail addresses and tokens are masked
// wherever they appear in a message or a string value.
package obslog

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// Redacted replaces what must not be logged.
const Redacted = "[redacted]"

var sensitiveKeys = []string{"doc", "nif", "nie", "dni", "name", "surname", "given_name", "family_name",
	"birth", "email", "mail", "address", "phone", "token", "code", "password", "secret", "cookie",
	"authorization", "assertion", "session", "key", "salt", "facts"}

var patterns = regexp.MustCompile(
	`\b\d{8}[A-Za-z]\b` + // NIF
		`|\b[XYZxyz]\d{7}[A-Za-z]\b` + // NIE
		`|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}` + // e-mail
		`|(?i:bearer)\s+[A-Za-z0-9._~+/-]+=*` + // bearer tokens
		`|\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`) // JWTs

func sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, s := range sensitiveKeys {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// Scrub masks personal data patterns in s.
func Scrub(s string) string { return patterns.ReplaceAllString(s, Redacted) }

type handler struct{ next slog.Handler }

// NewHandler wraps next.
func NewHandler(next slog.Handler) slog.Handler { return handler{next} }

// New returns a redacting logger writing text or JSON to w.
func New(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(NewHandler(h))
}

func (h handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(clean(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler {
	cl := make([]slog.Attr, len(as))
	for i, a := range as {
		cl[i] = clean(a)
	}
	return handler{h.next.WithAttrs(cl)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.next.WithGroup(name)} }

func clean(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		g := v.Group()
		cl := make([]any, len(g))
		for i, x := range g {
			cl[i] = clean(x)
		}
		return slog.Group(a.Key, cl...)
	}
	if sensitive(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Scrub(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, Scrub(err.Error()))
		}
		return slog.String(a.Key, Scrub(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
