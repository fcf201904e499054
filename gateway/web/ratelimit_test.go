package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/web"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	l := web.NewLimiter(map[string]web.Rate{"fetch": {Every: 10 * time.Second, Burst: 3}}, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.Allow("fetch", "alice"); !ok {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	ok, wait := l.Allow("fetch", "alice")
	if ok || wait <= 0 || wait > 10*time.Second {
		t.Fatalf("the 4th at once: %v, retry after %v", ok, wait)
	}
	if ok, _ := l.Allow("fetch", "bob"); !ok {
		t.Fatal("another key shares alice's bucket")
	}
	if ok, _ := l.Allow("other", "alice"); !ok {
		t.Fatal("a class without a rate was limited")
	}
	now = now.Add(10 * time.Second)
	if ok, _ := l.Allow("fetch", "alice"); !ok {
		t.Fatal("no token after the refill")
	}
	if ok, _ := l.Allow("fetch", "alice"); ok {
		t.Fatal("two tokens after one refill")
	}

	// Through the middleware: 429 with Retry-After.
	h := l.Limit("fetch", func(*http.Request) string { return "carol" },
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTooManyRequests) }),
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	var last *httptest.ResponseRecorder
	for range 4 {
		last = httptest.NewRecorder()
		h.ServeHTTP(last, httptest.NewRequest(http.MethodPost, "/folder/data", nil))
	}
	if last.Code != http.StatusTooManyRequests || last.Header().Get("Retry-After") == "" {
		t.Fatalf("over the rate: %d, Retry-After %q", last.Code, last.Header().Get("Retry-After"))
	}
}
