// Package transparency serves the public audit log over HTTP in the C2SP
// tlog-tiles layout: the signed checkpoint, the hash tiles, and the
// verifier key. Leaves are salted commitments: nothing here is personal.
package transparency

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
)

// Reader is what the handler needs of the log.
type Reader interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	Tile(ctx context.Context, level int, index int64, width int) ([]byte, error)
}

// Handler serves /log/checkpoint, /log/key and /log/tile/… for r; verifierKey
// is the note verifier key of the checkpoints.
func Handler(r Reader, verifierKey string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /log/checkpoint", func(w http.ResponseWriter, req *http.Request) {
		cp, err := r.Checkpoint(req.Context()) // a fresh log's is of the empty tree
		if err != nil {
			problem(w, http.StatusServiceUnavailable, "Log unavailable", "The checkpoint could not be read.")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(cp)
	})
	mux.HandleFunc("GET /log/key", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(verifierKey + "\n"))
	})
	mux.HandleFunc("GET /log/tile/", func(w http.ResponseWriter, req *http.Request) {
		t, err := parseTilePath(strings.TrimPrefix(req.URL.Path, "/log/tile/"))
		if errors.Is(err, errEntries) {
			problem(w, http.StatusNotFound, "No entry bundles", "This log publishes hash tiles only; entries are private to their subject.")
			return
		}
		if err != nil {
			problem(w, http.StatusBadRequest, "Malformed tile path", "Expected /log/tile/<L>/<N>[.p/<W>] as in C2SP tlog-tiles.")
			return
		}
		data, err := r.Tile(req.Context(), t.L, t.N, t.W)
		if errors.Is(err, audit.ErrNotFound) {
			problem(w, http.StatusNotFound, "No such tile", "The tree does not reach that tile yet.")
			return
		}
		if err != nil {
			problem(w, http.StatusServiceUnavailable, "Log unavailable", "The tile could not be read.")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if t.W == 1<<audit.TileHeight {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Write(data)
	})
	return mux
}

func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}

// Client fetches a log served by Handler; it implements audit.Fetcher.
type Client struct {
	Base string // e.g. https://obert.example/log
	HTTP *http.Client
}

// Get fetches path below Base.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.Base, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, audit.ErrNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("transparency: " + path + ": HTTP " + resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Checkpoint implements audit.Fetcher.
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) { return c.Get(ctx, "/checkpoint") }

// Tile implements audit.Fetcher.
func (c *Client) Tile(ctx context.Context, level int, index int64, width int) ([]byte, error) {
	p := tlog.Tile{H: audit.TileHeight, L: level, N: index, W: width}.Path()
	return c.Get(ctx, "/tile/"+strings.TrimPrefix(p, "tile/8/"))
}
