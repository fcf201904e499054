package credentials

import (
	"bytes"
	"compress/zlib"
	"errors"
	"testing"
)

// The one-bit example of the Token Status List draft (§4.1): statuses
// 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 are bytes 0xB9 0xA3.
const draftLst = "eNrbuRgAAhcBXQ"

var draftStatuses = []byte{1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1}

func TestStatusListDraftExample(t *testing.T) {
	t.Parallel()
	l, err := DecodeStatusList(draftLst, 1)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 16 || !bytes.Equal(l.data, []byte{0xB9, 0xA3}) {
		t.Fatalf("decoded %d entries % x", l.Len(), l.data)
	}
	for i, want := range draftStatuses {
		if got, _ := l.Get(i); got != want {
			t.Errorf("entry %d: %d, want %d", i, got, want)
		}
	}

	// Built by Set, the list holds the same bytes and encodes back to
	// something that decodes to them.
	m, _ := NewStatusList(16)
	for i, s := range draftStatuses {
		if err := m.Set(i, s); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(m.data, l.data) {
		t.Fatalf("built % x, want % x", m.data, l.data)
	}
	enc, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeStatusList(enc, 1)
	if err != nil || !bytes.Equal(back.data, l.data) {
		t.Fatalf("round trip % x, %v", back.data, err)
	}
}

func TestStatusListWiderEntries(t *testing.T) {
	t.Parallel()
	// Two-bit example of the draft: 1,2,0,3 in the low bits first is 0xC9.
	raw := deflate(t, []byte{0xC9, 0x00})
	l, err := DecodeStatusList(raw, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []byte{1, 2, 0, 3, 0} {
		if got, _ := l.Get(i); got != want {
			t.Errorf("entry %d: %d, want %d", i, got, want)
		}
	}
	if l.Len() != 8 {
		t.Errorf("len %d", l.Len())
	}
}

func TestStatusListSetClears(t *testing.T) {
	t.Parallel()
	l, _ := NewStatusList(20)
	l.Set(9, StatusInvalid)
	l.Set(9, StatusValid)
	l.Set(19, StatusInvalid)
	if s, _ := l.Get(9); s != StatusValid {
		t.Errorf("entry 9 not cleared")
	}
	if s, _ := l.Get(19); s != StatusInvalid {
		t.Errorf("entry 19 not set")
	}
	if len(l.data) != 3 {
		t.Errorf("20 entries in %d bytes", len(l.data))
	}
}

func TestStatusListRejects(t *testing.T) {
	t.Parallel()
	l, _ := NewStatusList(8)
	if err := l.Set(8, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("set past the end: %v", err)
	}
	if _, err := l.Get(-1); !errors.Is(err, ErrNotFound) {
		t.Errorf("get -1: %v", err)
	}
	if err := l.Set(0, 2); !errors.Is(err, ErrMalformed) {
		t.Errorf("status 2 in one bit: %v", err)
	}
	if _, err := NewStatusList(0); err == nil {
		t.Error("empty list accepted")
	}
	for name, tc := range map[string]struct {
		lst  string
		bits int
	}{
		"bits 3":        {draftLst, 3},
		"bits 0":        {draftLst, 0},
		"not base64url": {"eNrb+RgA/hcBXQ==", 1},
		"not zlib":      {b64.EncodeToString([]byte("plain bytes")), 1},
		"truncated":     {draftLst[:8], 1},
		"empty":         {deflate(t, nil), 1},
		"bomb":          {deflate(t, make([]byte, maxStatusListBytes+1)), 1},
	} {
		if _, err := DecodeStatusList(tc.lst, tc.bits); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func deflate(t *testing.T, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(data)
	w.Close()
	return b64.EncodeToString(buf.Bytes())
}
