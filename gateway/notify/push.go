package notify

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// ErrGone means the push service no longer knows the subscription (HTTP
// 404 or 410): the citizen's browser dropped it, and it must be deleted.
var ErrGone = errors.New("notify: push subscription gone")

// PushSubscription is a browser's PushSubscription, as JSON.
type PushSubscription = webpush.Subscription

// Pusher sends web push messages signed with a VAPID key (RFC 8292),
// encrypted for the browser (RFC 8291).
type Pusher struct {
	PublicKey  string // base64url, uncompressed P-256 point
	privateKey string
	subscriber string
	client     *http.Client
}

// NewPusher builds a pusher from a 32-byte P-256 private scalar; contact is
// the mailto: or https: address push services may write to.
func NewPusher(private []byte, contact string, client *http.Client) (*Pusher, error) {
	k, err := ecdh.P256().NewPrivateKey(private)
	if err != nil {
		return nil, fmt.Errorf("notify: VAPID key: %w", err)
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &Pusher{
		PublicKey:  base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()),
		privateKey: base64.RawURLEncoding.EncodeToString(private),
		// webpush-go adds the mailto: scheme to an address itself.
		subscriber: strings.TrimPrefix(contact, "mailto:"), client: client,
	}, nil
}

// ParseSubscription checks a browser's subscription: an https endpoint
// (http only on loopback, for tests) and both keys.
func ParseSubscription(b []byte, allowHTTP bool) (PushSubscription, error) {
	var s PushSubscription
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("notify: push subscription: %w", err)
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(allowHTTP && u.Scheme == "http")) {
		return s, errors.New("notify: push subscription: the endpoint must be an https address")
	}
	p, err1 := base64.RawURLEncoding.DecodeString(trimPad(s.Keys.P256dh))
	a, err2 := base64.RawURLEncoding.DecodeString(trimPad(s.Keys.Auth))
	if err1 != nil || err2 != nil || len(p) != 65 || len(a) != 16 {
		return s, errors.New("notify: push subscription: keys.p256dh and keys.auth are required")
	}
	if _, err := ecdh.P256().NewPublicKey(p); err != nil {
		return s, errors.New("notify: push subscription: keys.p256dh is not a P-256 point")
	}
	return s, nil
}

func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// Send pushes payload to the subscription. topic lets the push service
// replace an undelivered message of the same alert (a retry) instead of
// showing two.
func (p *Pusher) Send(ctx context.Context, sub PushSubscription, payload []byte, topic string) error {
	resp, err := webpush.SendNotificationWithContext(ctx, payload, &sub, &webpush.Options{
		HTTPClient: p.client, Subscriber: p.subscriber, Topic: topic, TTL: 7 * 24 * 3600,
		Urgency: webpush.UrgencyNormal, VAPIDPublicKey: p.PublicKey, VAPIDPrivateKey: p.privateKey,
	})
	if err != nil {
		return fmt.Errorf("notify: push: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return ErrGone
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("notify: push service answered %d", resp.StatusCode)
	}
	return nil
}
