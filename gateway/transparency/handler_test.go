package transparency_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/audit/audittest"
	"github.com/obert-gov/obert/gateway/transparency"
)

// testLog is a log in memory holding n entries, served by Handler.
func testLog(t testing.TB, n int) (*audit.Log, *audittest.MemStore, http.Handler) {
	t.Helper()
	s := &audittest.MemStore{}
	l, _, vkey := audittest.NewLog(t, s)
	if n > 0 {
		es := make([]audit.Entry, n)
		for i := range es {
			es[i] = audit.Entry{ID: fmt.Sprintf("e%06d", i), Time: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC),
				Kind: audit.KindSignIn, Subject: "alice"}
		}
		if _, err := l.AppendAll(context.Background(), es); err != nil {
			t.Fatal(err)
		}
	}
	return l, s, transparency.Handler(l, vkey)
}

func get(h http.Handler, path string) *http.Response {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.URL.Path = path
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Result()
}

// TestTilePaths: tiles of the tree are served; paths C2SP tlog-tiles would
// not write are 400; well-formed paths to tiles the tree does not hold
// (yet, or ever) are 404, at once.
func TestTilePaths(t *testing.T) {
	ctx := context.Background()
	_, s, h := testLog(t, 600) // level 0: two full tiles and 88 hashes; level 1: 2 hashes
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.ReadHashes(ctx, idx) })
	for path, want := range map[string]tlog.Tile{
		"0/000": {L: 0, N: 0, W: 256}, "0/001": {L: 0, N: 1, W: 256}, "0/002.p/88": {L: 0, N: 2, W: 88},
		"0/002.p/1": {L: 0, N: 2, W: 1}, "0/001.p/7": {L: 0, N: 1, W: 7}, "1/000.p/2": {L: 1, N: 0, W: 2},
		"1/000.p/1": {L: 1, N: 0, W: 1},
	} {
		resp := get(h, "/log/tile/"+path)
		body, _ := io.ReadAll(resp.Body)
		want.H = audit.TileHeight
		data, _ := tlog.ReadTileData(want, hr)
		if resp.StatusCode != http.StatusOK || string(body) != string(data) {
			t.Errorf("%s: %d, %d bytes; want 200 and tile %+v", path, resp.StatusCode, len(body), want)
		}
	}
	start := time.Now()
	for path, want := range map[string]int{
		// Well-formed, not in this tree.
		"0/002": 404, "0/002.p/89": 404, "0/003": 404, "1/000": 404, "1/000.p/3": 404, "2/000.p/1": 404,
		"7/000": 404, "8/000": 404, "63/000": 404, "0/x001/000": 404, "0/x036/x028/x797/x018/x963/968": 404,
		"0/x009/x223/x372/x036/x854/x775/807": 404, "entries/000": 404, "entries/x001/002.p/5": 404,
		// Not as C2SP tlog-tiles writes them.
		"1000000/000": 400, "64/000": 400, "x/y": 400, "00/000": 400, "-1/000": 400, "+1/000": 400,
		"data/000": 400, "0/00": 400, "0/0000": 400, "0/x000/001": 400, "0/x001": 400, "0/001/": 400,
		"0/000.p/0": 400, "0/000.p/256": 400, "0/000.p/01": 400, "0/000.p/": 400, "0/000.p": 400,
		"0/x009/x223/x372/x036/x854/x775/808": 400, "entries/x": 400, "entries": 400, "0": 400, "": 400,
	} {
		resp := get(h, "/log/tile/"+path)
		if resp.StatusCode != want || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want %d with a problem document", path, resp.StatusCode, resp.Header.Get("Content-Type"), want)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing tiles took %v", d)
	}
}

// TestFreshLog: before its first entry the log publishes a signed
// checkpoint of the empty tree, which a client verifies over HTTP.
func TestFreshLog(t *testing.T) {
	s := &audittest.MemStore{}
	l, v, vkey := audittest.NewLog(t, s)
	ts := httptest.NewServer(transparency.Handler(l, vkey))
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "obert.test/audit\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"; resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), want) {
		t.Fatalf("checkpoint of a fresh log: %d %q", resp.StatusCode, body)
	}
	cp, err := audit.VerifyLog(context.Background(), &transparency.Client{Base: ts.URL + "/log"}, v, nil)
	if err != nil || cp.Size != 0 {
		t.Fatalf("verify a fresh log: %+v, %v", cp, err)
	}
	if resp := get(ts.Config.Handler, "/log/tile/0/000.p/1"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a tile of the empty tree: %d", resp.StatusCode)
	}
}
