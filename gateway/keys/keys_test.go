package keys

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealOpenAndSubject(t *testing.T) {
	k, err := New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New([]byte("short")); err == nil {
		t.Fatal("short root secret accepted")
	}
	s := k.Seal([]byte("12345678Z"), []byte("sessions/1"))
	if bytes.Contains(s, []byte("12345678Z")) {
		t.Fatal("sealed value contains the plaintext")
	}
	got, err := k.Open(s, []byte("sessions/1"))
	if err != nil || string(got) != "12345678Z" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := k.Open(s, []byte("sessions/2")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with another context = %v, want ErrOpen", err)
	}
	s[len(s)-1] ^= 1
	if _, err := k.Open(s, []byte("sessions/1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open of tampered value = %v, want ErrOpen", err)
	}
	a, b := k.Subject("12345678Z"), k.Subject("12345678Z")
	if a != b || len(a) != 64 || a == k.Subject("87654321X") {
		t.Fatalf("Subject not stable or not distinct: %s %s", a, b)
	}
	k2, _ := New(bytes.Repeat([]byte{8}, 32))
	if k2.Subject("12345678Z") == a {
		t.Fatal("subject key does not depend on the root secret")
	}
}
