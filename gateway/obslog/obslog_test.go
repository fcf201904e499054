package obslog

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestNothingPersonalGetsThrough(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log := New(&buf, format, slog.LevelDebug)
		log = log.With("session", "s3cr3t-session", "component", "signin")
		log.Info("sign-in for 12345678Z (maria.puig@example.cat)",
			"nif", "12345678Z", "name", "Maria", "surname1", "Puig",
			slog.Group("identity", "document_number", "X1234567L", "birth_date", "1950-01-02", "loa", "substantial"),
			"detail", "titular Y7654321G not found; Authorization: Bearer abc.def.ghi",
			"err", errors.New("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln rejected"),
			"count", 3)
		log.WithGroup("req").Warn("x", "email", "a@b.cat", "path", "/folder/access")
		out := buf.String()
		for _, leak := range []string{"12345678Z", "Maria", "Puig", "maria.puig@example.cat", "X1234567L", "1950-01-02",
			"Y7654321G", "abc.def.ghi", "eyJhbGci", "s3cr3t-session", "a@b.cat"} {
			if strings.Contains(out, leak) {
				t.Errorf("%s log leaks %q:\n%s", format, leak, out)
			}
		}
		for _, keep := range []string{"substantial", "signin", "/folder/access", "3"} {
			if !strings.Contains(out, keep) {
				t.Errorf("%s log lost the harmless %q:\n%s", format, keep, out)
			}
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	log := New(w, "json", slog.LevelInfo)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { log.Info("fetch", "nif", "12345678Z", "i", i) })
	}
	wg.Wait()
	if strings.Contains(buf.String(), "12345678Z") || strings.Count(buf.String(), "\n") != 8 {
		t.Fatalf("concurrent output:\n%s", buf.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
