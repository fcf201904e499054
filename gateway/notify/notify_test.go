package notify_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/gateway/notify"
)

func TestEmailThroughSMTP(t *testing.T) {
	sink, err := notify.StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	m, err := notify.NewMailer(sink.URL("avisos@obert.example"))
	if err != nil {
		t.Fatal(err)
	}
	msg := notify.Message{To: "ciutada@example.org", Subject: "Un ajut nou us pot correspondre: Bo social tèrmic",
		Text: "Text pla amb accents: àèéíòóú", HTML: "<p>HTML</p>", MessageID: "alert-1@obert.example",
		Unsubscribe: "https://obert.example/alerts/unsubscribe?t=abc"}
	if err := m.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	got := sink.Wait(1, 5*time.Second)
	if len(got) != 1 || got[0].From != "avisos@obert.example" || len(got[0].To) != 1 || got[0].To[0] != msg.To {
		t.Fatalf("envelope: %+v", got)
	}
	pm, err := got[0].Parse()
	if err != nil {
		t.Fatal(err)
	}
	subj, err := got[0].Subject()
	if err != nil || subj != msg.Subject {
		t.Errorf("subject %q (%v)", subj, err)
	}
	if id := pm.Header.Get("Message-Id"); id != "<alert-1@obert.example>" {
		t.Errorf("message id %q", id)
	}
	if u := pm.Header.Get("List-Unsubscribe"); u != "<"+msg.Unsubscribe+">" {
		t.Errorf("List-Unsubscribe %q", u)
	}
	if p := pm.Header.Get("List-Unsubscribe-Post"); p != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post %q", p)
	}
	mt, params, err := mime.ParseMediaType(pm.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q", mt)
	}
	mr := multipart.NewReader(pm.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, p.Header.Get("Content-Type")+"|"+string(b))
	}
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "text/plain") || !strings.Contains(parts[0], msg.Text) ||
		!strings.HasPrefix(parts[1], "text/html") {
		t.Errorf("parts: %q", parts)
	}
}

func TestMailerURL(t *testing.T) {
	for _, bad := range []string{"http://x?from=a@b", "smtp://x", "smtp://?from=a@b", "smtp://x:port?from=a@b", "smtp://x?from=a@b&starttls=maybe"} {
		if _, err := notify.NewMailer(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := notify.NewMailer("smtps://user:pw@mail.example:465?from=a@b.example"); err != nil {
		t.Error(err)
	}
}

// A mandatory STARTTLS is refused by a server that does not offer it: the
// address is never sent in clear by mistake.
func TestEmailRefusesPlaintextWhenTLSMandatory(t *testing.T) {
	sink, err := notify.StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	m, err := notify.NewMailer("smtp://" + sink.Addr() + "?from=a@obert.example")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), notify.Message{To: "b@example.org", Subject: "s", Text: "t"}); err == nil {
		t.Fatal("sent without TLS")
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d messages reached the server", n)
	}
}

// pushService is a push service on loopback: it checks the VAPID token
// and decrypts the message with the browser's keys (RFC 8291), as a
// browser would.
type pushService struct {
	t       *testing.T
	ua      *ecdh.PrivateKey
	auth    []byte
	vapid   string // expected public key
	mu      sync.Mutex
	got     [][]byte
	topics  []string
	gone    bool
	srv     *httptest.Server
	badAuth int
}

func newPushService(t *testing.T) *pushService {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	p := &pushService{t: t, ua: ua, auth: make([]byte, 16)}
	rand.Read(p.auth)
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pushService) subscription() []byte {
	b, _ := json.Marshal(map[string]any{"endpoint": p.srv.URL + "/push/abc", "keys": map[string]string{
		"p256dh": base64.RawURLEncoding.EncodeToString(p.ua.PublicKey().Bytes()),
		"auth":   base64.RawURLEncoding.EncodeToString(p.auth)}})
	return b
}

func (p *pushService) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone {
		w.WriteHeader(http.StatusGone)
		return
	}
	if err := p.checkVAPID(r.Header.Get("Authorization")); err != nil {
		p.badAuth++
		p.t.Log("vapid:", err, r.Header.Get("Authorization"))
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" || r.Header.Get("TTL") == "" {
		http.Error(w, "headers", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	plain, err := p.decrypt(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.got = append(p.got, plain)
	p.topics = append(p.topics, r.Header.Get("Topic"))
	w.WriteHeader(http.StatusCreated)
}

func (p *pushService) checkVAPID(h string) error {
	var tok, key string
	for _, part := range strings.Split(strings.TrimPrefix(h, "vapid "), ",") {
		part = strings.TrimSpace(part)
		if v, ok := strings.CutPrefix(part, "t="); ok {
			tok = v
		}
		if v, ok := strings.CutPrefix(part, "k="); ok {
			key = v
		}
	}
	if key != p.vapid {
		return errors.New("unknown VAPID key")
	}
	pub, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil {
		return err
	}
	pk, err := ecdsa.ParseUncompressedPublicKey(elliptic256(), pub)
	if err != nil {
		return err
	}
	segs := strings.Split(tok, ".")
	if len(segs) != 3 {
		return errors.New("token")
	}
	sig, _ := base64.RawURLEncoding.DecodeString(segs[2])
	if len(sig) != 64 {
		return errors.New("signature length")
	}
	d := sha256.Sum256([]byte(segs[0] + "." + segs[1]))
	if !ecdsa.Verify(pk, d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("bad signature")
	}
	cb, _ := base64.RawURLEncoding.DecodeString(segs[1])
	var c struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	json.Unmarshal(cb, &c)
	if c.Aud != p.srv.URL || c.Exp < time.Now().Unix() || c.Sub != "mailto:dpd@obert.example" {
		return errors.New("claims")
	}
	return nil
}

func (p *pushService) decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("short")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen || int(rs) < len(body)-21-idlen {
		return nil, errors.New("header")
	}
	asPub := body[21 : 21+idlen]
	as, err := ecdh.P256().NewPublicKey(asPub)
	if err != nil {
		return nil, err
	}
	secret, err := p.ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), p.ua.PublicKey().Bytes()...), asPub...)
	ikm, err := hkdf.Key(sha256.New, secret, p.auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	blk, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(blk)
	plain, err := gcm.Open(nil, nonce, body[21+idlen:], nil)
	if err != nil {
		return nil, err
	}
	plain = bytes.TrimRight(plain, "\x00")
	if len(plain) == 0 || plain[len(plain)-1] != 2 {
		return nil, errors.New("padding delimiter")
	}
	return plain[:len(plain)-1], nil
}

func TestWebPush(t *testing.T) {
	ps := newPushService(t)
	seed := make([]byte, 32)
	rand.Read(seed)
	pusher, err := notify.NewPusher(seed, "mailto:dpd@obert.example", ps.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	ps.vapid = pusher.PublicKey
	sub, err := notify.ParseSubscription(ps.subscription(), true)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"title":"Un ajut nou","url":"/folder/aids"}`)
	if err := pusher.Send(context.Background(), sub, payload, "alert-abc"); err != nil {
		t.Fatal(err)
	}
	if len(ps.got) != 1 || !bytes.Equal(ps.got[0], payload) || ps.topics[0] != "alert-abc" {
		t.Fatalf("push service got %q topics %q", ps.got, ps.topics)
	}
	// Another VAPID key is refused by the push service.
	other, _ := notify.NewPusher(bytes.Repeat([]byte{7}, 32), "mailto:dpd@obert.example", ps.srv.Client())
	if err := other.Send(context.Background(), sub, payload, "x"); err == nil || ps.badAuth != 1 {
		t.Fatalf("foreign VAPID key: %v (refusals %d)", err, ps.badAuth)
	}
	ps.gone = true
	if err := pusher.Send(context.Background(), sub, payload, "x"); !errors.Is(err, notify.ErrGone) {
		t.Fatalf("gone subscription: %v", err)
	}
}

func TestParseSubscription(t *testing.T) {
	ps := newPushService(t)
	if _, err := notify.ParseSubscription(ps.subscription(), false); err == nil {
		t.Error("http endpoint accepted outside tests")
	}
	for _, bad := range []string{`{}`, `not json`, `{"endpoint":"https://push.example/x","keys":{"p256dh":"AAAA","auth":"AAAA"}}`,
		`{"endpoint":"https://push.example/x"}`} {
		if _, err := notify.ParseSubscription([]byte(bad), true); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func elliptic256() elliptic.Curve { return elliptic.P256() }
