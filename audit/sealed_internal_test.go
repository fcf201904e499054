package audit

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// TestSealedJSONIsMarshal: an entry encoded once gives the sealed copy
// json.Marshal gives, and the commitment Commitment gives, for entries
// whose every field is set or left empty, with text JSON escapes (HTML
// characters, line separators, invalid UTF-8, quotes) and salts of any
// size.
func TestSealedJSONIsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	texts := []string{"", "ex_0123", "a<b>&c", "line\u2028sep\u2029", "bad\xffutf8", `quote"back\slash`, "tab\tnew\n", "àéïõü 漢字", "\x00\x1f"}
	ts := reflect.TypeFor[Entry]()
	for i := range 3000 {
		var e Entry
		v := reflect.ValueOf(&e).Elem()
		for f := range ts.NumField() {
			if rng.IntN(3) == 0 {
				continue // left empty: omitted
			}
			switch fv := v.Field(f); fv.Kind() {
			case reflect.String:
				fv.SetString(texts[rng.IntN(len(texts))])
			case reflect.Int, reflect.Int64:
				fv.SetInt(rng.Int64N(1<<40) - 1<<39)
			case reflect.Slice:
				fv.Set(reflect.ValueOf([]string{texts[rng.IntN(len(texts))], texts[rng.IntN(len(texts))]}[:rng.IntN(3)]))
			}
		}
		e.Time = time.UnixMicro(rng.Int64N(1 << 52)).UTC()
		var salt []byte // nil once
		if i > 0 {
			salt = make([]byte, i%(2*SaltSize+1))
		}
		for k := range salt {
			salt[k] = byte(rng.Uint32())
		}
		want, err := json.Marshal(sealedEntry{Entry: e, Salt: salt})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := sealedJSON(b, salt); !bytes.Equal(got, want) {
			t.Fatalf("entry %+v, salt %x:\n got %s\nwant %s", e, salt, got, want)
		}
		if !bytes.Equal(commitment(b, salt), Commitment(e, salt)) {
			t.Fatalf("commitment of %+v differs", e)
		}
	}
}
