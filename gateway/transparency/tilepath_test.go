package transparency_test

import (
	"context"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
)

// fuzzSize is the tree of FuzzTilePath: 259 full tiles and one of 17 hashes
// at level 0, one full and one of 3 at level 1, one of 1 at level 2.
const fuzzSize = 259*256 + 17

// FuzzTilePath: whatever follows /log/tile/, the handler does not panic,
// answers 200, 400 or 404 (or ServeMux's redirect of a path with "." or
// ".." or "//" to its cleaned form), serves
// exactly the tiles the tree holds, each with the tree's hashes, and refuses
// every path tlog would not have written.
func FuzzTilePath(f *testing.F) {
	ctx := context.Background()
	_, s, h := testLog(f, fuzzSize)
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.ReadHashes(ctx, idx) })
	for _, p := range []string{"0/000", "0/259.p/17", "1/000", "1/001.p/3", "2/000.p/1", "0/x001/x234/067", "8/000",
		"1000000/000", "0/000.p/256", "entries/000.p/5"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		full := "/log/tile/" + p
		resp := get(h, full)
		body, _ := io.ReadAll(resp.Body)
		code := resp.StatusCode
		if code == http.StatusMovedPermanently || code == http.StatusTemporaryRedirect {
			if esc := (&url.URL{Path: full}).EscapedPath(); cleanPath(esc) == esc {
				t.Fatalf("%q: redirected a clean path", full)
			}
			return
		}
		if code != http.StatusOK && code != http.StatusBadRequest && code != http.StatusNotFound {
			t.Fatalf("%q: status %d", full, code)
		}
		tile, err := tlog.ParseTilePath("tile/8/" + p)
		wellFormed := err == nil && tile.L >= 0 && tile.L <= 63
		inTree := wellFormed && holds(fuzzSize, tile)
		switch {
		case code == http.StatusOK && !inTree:
			t.Fatalf("%q: served a tile outside the tree of %d", full, fuzzSize)
		case code == http.StatusOK:
			want, err := tlog.ReadTileData(tile, hr)
			if err != nil || string(body) != string(want) {
				t.Fatalf("%q: served %d bytes that are not tile %+v", full, len(body), tile)
			}
		case inTree:
			t.Fatalf("%q: %d for tile %+v of the tree", full, code, tile)
		case !wellFormed && !strings.HasPrefix(p, "entries/") && code != http.StatusBadRequest:
			t.Fatalf("%q: %d for a path tlog-tiles would not write", full, code)
		}
	})
}

// holds reports, in arbitrary precision, whether a tree of size leaves
// holds tile t: it needs (N*256+W)*256^L leaves.
func holds(size int64, t tlog.Tile) bool {
	need := new(big.Int).Mul(big.NewInt(t.N), big.NewInt(1<<audit.TileHeight))
	need.Add(need, big.NewInt(int64(t.W)))
	need.Lsh(need, uint(audit.TileHeight*t.L))
	return need.Cmp(big.NewInt(size)) <= 0
}

// cleanPath is net/http's: ServeMux redirects an escaped path to it.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		if len(p) == len(np)+1 && strings.HasPrefix(p, np) {
			np = p
		} else {
			np += "/"
		}
	}
	return np
}
