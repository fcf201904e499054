package scsp

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// TestReadBody: an answer is read whole whatever length the source
// declares (none, its own, less or more than it sends), and no more than
// MaxMessage+1 bytes of it.
func TestReadBody(t *testing.T) {
	small := bytes.Repeat([]byte("<a>x</a>"), 300)
	big := bytes.Repeat([]byte("y"), MaxMessage+10)
	for _, c := range []struct {
		name     string
		body     []byte
		declared int64
		want     int
	}{
		{"undeclared", small, -1, len(small)},
		{"declared", small, int64(len(small)), len(small)},
		{"declared short", small, 10, len(small)},
		{"declared long", small, int64(len(small)) + 1000, len(small)},
		{"empty", nil, 0, 0},
		{"too big, undeclared", big, -1, MaxMessage + 1},
		{"too big, declared", big, int64(len(big)), MaxMessage + 1},
	} {
		got, err := readBody(&http.Response{Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: c.declared})
		if err != nil || len(got) != c.want || !bytes.Equal(got, c.body[:c.want]) {
			t.Errorf("%s: %d bytes (%v), want %d", c.name, len(got), err, c.want)
		}
	}
}
