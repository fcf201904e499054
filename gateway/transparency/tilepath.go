package transparency

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/obert-gov/obert/audit"
)

// MaxLevel is the highest tile level C2SP tlog-tiles allows. Which levels
// exist depends on the tree: audit.TileInTree answers that, against the
// checkpoint.
const MaxLevel = 63

// errEntries is a well-formed path to an entry bundle, which this log does
// not publish.
var errEntries = errors.New("transparency: entry bundles are not published")

// parseTilePath parses the part of a tile's URL after "tile/" strictly, as
// C2SP tlog-tiles writes it: "<L>/<N>[.p/<W>]" with L a decimal 0..63, N in
// 3-digit groups ("x001/x234/067"), and W 1..255, each in its one canonical
// form; or "entries/<N>[.p/<W>]", reported as errEntries. An index past
// int64 is malformed too. It checks the form only: whether the tile exists
// is for the log to say.
func parseTilePath(p string) (tlog.Tile, error) {
	// tlog writes the same paths with the height after "tile/", and its
	// parser accepts only what it would write; levels it does not bound,
	// and "data" it reads as level -1.
	level, rest, ok := strings.Cut(p, "/")
	if level == "entries" {
		if _, err := parseTilePath("0/" + rest); err != nil {
			return tlog.Tile{}, err
		}
		return tlog.Tile{}, errEntries
	}
	if !ok || level == "data" {
		return tlog.Tile{}, fmt.Errorf("transparency: malformed tile path %q", p)
	}
	t, err := tlog.ParseTilePath(fmt.Sprintf("tile/%d/%s", audit.TileHeight, p))
	if err != nil || t.H != audit.TileHeight || t.L < 0 || t.L > MaxLevel {
		return tlog.Tile{}, fmt.Errorf("transparency: malformed tile path %q", p)
	}
	return t, nil
}
