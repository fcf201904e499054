package credentials

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDisclosureRFC9901Example(t *testing.T) {
	t.Parallel()
	// RFC 9901 §4.2.1 and §4.2.3: the digest is over the encoded string as
	// sent, with its spaces, never over a re-encoding.
	const enc = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
	d, err := ParseDisclosure(enc)
	if err != nil {
		t.Fatal(err)
	}
	if d.Salt != "_26bc4LT-ac6q2KI6cBW5es" || d.Name != "family_name" || d.Value != "Möbius" {
		t.Errorf("parsed %+v", d)
	}
	if got := d.Digest(); got != "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0" {
		t.Errorf("digest %s", got)
	}
}

func TestNewDisclosureRoundTrip(t *testing.T) {
	t.Parallel()
	d, err := newDisclosure(strings.NewReader(strings.Repeat("s", 16)), "address", map[string]any{"locality": "Girona"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Salt != "c3Nzc3Nzc3Nzc3Nzc3Nzcw" {
		t.Errorf("salt %s", d.Salt)
	}
	back, err := ParseDisclosure(d.Encoded)
	if err != nil || back.Name != "address" || back.Value.(map[string]any)["locality"] != "Girona" || back.Digest() != d.Digest() {
		t.Errorf("round trip %+v, %v", back, err)
	}
	if _, err := newDisclosure(strings.NewReader("short"), "a", 1); err == nil {
		t.Error("a short salt source accepted")
	}
}

func TestParseDisclosureRejects(t *testing.T) {
	t.Parallel()
	for name, raw := range map[string]string{
		"array element": `["salt", "value"]`,
		"four elements": `["salt", "a", 1, 2]`,
		"numeric name":  `["salt", 7, 1]`,
		"numeric salt":  `[7, "a", 1]`,
		"_sd":           `["salt", "_sd", []]`,
		"ellipsis":      `["salt", "...", "x"]`,
		"object":        `{"salt": "a"}`,
		"trailing":      `["salt", "a", 1] []`,
	} {
		if _, err := ParseDisclosure(b64.EncodeToString([]byte(raw))); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseDisclosure("not+base64"); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad base64: accepted")
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	s, err := Split("h.p.s~d1~d2~kb.kb.kb")
	if err != nil || s.JWT != "h.p.s" || len(s.Disclosures) != 2 || s.KeyBinding != "kb.kb.kb" {
		t.Fatalf("%+v %v", s, err)
	}
	if s.String() != "h.p.s~d1~d2~kb.kb.kb" || s.withoutKB() != "h.p.s~d1~d2~" {
		t.Errorf("serialised %q", s.String())
	}
	for _, bad := range []string{"h.p.s", "~d1~", "h.p.s~~d2~", ""} {
		if _, err := Split(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestPresentAndVerify(t *testing.T) {
	t.Parallel()
	iss := newTestIssuer(t, nil)
	holder := newKey(t)
	cred, err := iss.Issue(context.Background(), Request{Type: CensusCertificate, Claims: censusClaims(), Holder: &holder.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	pub := &iss.cfg.Key.PublicKey
	kb := &KeyBinding{Key: holder, Audience: "https://verifier.example", Nonce: "abc", IssuedAt: testNow}
	p, err := Present(cred.SDJWT, []string{"resident_in_catalonia"}, kb)
	if err != nil {
		t.Fatal(err)
	}
	opts := VerifyOptions{IssuerKey: pub, Now: testNow.Add(time.Minute), Audience: "https://verifier.example", Nonce: "abc"}
	v, err := Verify(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Claims) != 1 || v.Claims["resident_in_catalonia"] != true || !v.KeyBound || v.Holder == nil {
		t.Errorf("verified %+v", v)
	}

	// What a verifier must refuse.
	for name, tc := range map[string]struct {
		pres string
		mod  func(*VerifyOptions)
		want error
	}{
		"other nonce":       {p, func(o *VerifyOptions) { o.Nonce = "xyz" }, ErrKeyBinding},
		"other audience":    {p, func(o *VerifyOptions) { o.Audience = "https://other.example" }, ErrKeyBinding},
		"stale kb":          {p, func(o *VerifyOptions) { o.Now = testNow.Add(time.Hour) }, ErrKeyBinding},
		"no kb":             {strings.TrimSuffix(p, p[strings.LastIndex(p, "~")+1:]), nil, ErrKeyBinding},
		"other issuer key":  {p, func(o *VerifyOptions) { o.IssuerKey = &newKey(t).PublicKey }, ErrSignature},
		"expired":           {p, func(o *VerifyOptions) { o.Now = testNow.Add(91 * 24 * time.Hour); o.MaxKBAge = 100 * 24 * time.Hour }, ErrExpired},
		"other iss":         {p, func(o *VerifyOptions) { o.Issuer = "https://elsewhere.example" }, ErrMalformed},
		"duplicate":         {dupDisclosure(t, p), nil, ErrDisclosure},
		"not an sd-jwt":     {"abc", nil, ErrMalformed},
		"kb after one more": {addDisclosure(t, p, cred.SDJWT), nil, ErrKeyBinding},
	} {
		o := opts
		if tc.mod != nil {
			tc.mod(&o)
		}
		if _, err := Verify(tc.pres, o); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}

	// What the holder's helper refuses.
	if _, err := Present(cred.SDJWT, []string{"passport_number"}, nil); !errors.Is(err, ErrClaims) {
		t.Errorf("presenting a claim the credential lacks: %v", err)
	}
	if _, err := Present(cred.SDJWT, nil, &KeyBinding{Key: newKey(t), Audience: "a", Nonce: "n"}); !errors.Is(err, ErrKeyBinding) {
		t.Errorf("binding with another key: %v", err)
	}
	if _, err := Present(cred.SDJWT, nil, &KeyBinding{Key: holder}); !errors.Is(err, ErrKeyBinding) {
		t.Errorf("binding without audience and nonce: %v", err)
	}
	unbound, _ := iss.Issue(context.Background(), Request{Type: CensusCertificate, Claims: map[string]any{"a": 1}})
	if _, err := Present(unbound.SDJWT, nil, kb); !errors.Is(err, ErrKeyBinding) {
		t.Errorf("binding a credential without cnf: %v", err)
	}

	// Presenting nothing reveals nothing, and still verifies.
	none, err := Present(cred.SDJWT, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err = Verify(none, VerifyOptions{IssuerKey: pub, Now: testNow})
	if err != nil || len(v.Claims) != 0 || v.KeyBound {
		t.Errorf("empty presentation: %+v, %v", v, err)
	}
}

// dupDisclosure sends the first disclosure of p twice.
func dupDisclosure(t *testing.T, p string) string {
	s, err := Split(p)
	if err != nil {
		t.Fatal(err)
	}
	s.Disclosures = append(s.Disclosures, s.Disclosures[0])
	return s.String()
}

// addDisclosure adds one more of the credential's disclosures to the
// presentation p after its key binding was signed.
func addDisclosure(t *testing.T, p, cred string) string {
	s, _ := Split(p)
	c, _ := Split(cred)
	for _, d := range c.Disclosures {
		if d != s.Disclosures[0] {
			s.Disclosures = append(s.Disclosures, d)
			break
		}
	}
	return s.String()
}
