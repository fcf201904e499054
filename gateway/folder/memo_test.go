package folder

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// countingSessions counts lookups.
type countingSessions struct {
	Sessions
	n int
}

func (c *countingSessions) Lookup(*http.Request) (Viewer, error) {
	c.n++
	return Viewer{Subject: "s-1"}, nil
}

// TestOneSessionLookupPerRequest: a handler in front of the pages under
// Memo (the fetches' rate limit) and the pages themselves share one
// lookup; without Memo, each request still costs one.
func TestOneSessionLookupPerRequest(t *testing.T) {
	sess := &countingSessions{}
	h := &Handler{deps: Deps{Sessions: sess}}
	var seen []string
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		for range 2 { // access check, then render
			v, _ := h.current(r)
			seen = append(seen, v.Subject)
		}
	})
	front := h.Memo(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := h.Current(r) // the limit's key
		if !ok || v.Subject != "s-1" {
			t.Fatalf("%+v, %v", v, ok)
		}
		h.ServeHTTP(w, r)
	}))
	front.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/folder/data", nil))
	if sess.n != 1 || len(seen) != 2 {
		t.Fatalf("%d lookups, pages saw %v", sess.n, seen)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/folder", nil))
	if sess.n != 2 {
		t.Fatalf("%d lookups after a second request", sess.n)
	}
}
