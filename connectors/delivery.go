package connectors

import (
	"context"
	"sync/atomic"
)

// Delivery says whether a request may have reached its source. A citizen's
// limit on how often a source may be asked counts the requests the source
// received: one that certainly never left (no connection was made, the
// circuit was open) is given back. Only a transport that knows says so; a
// request whose transport says nothing is taken to have reached the
// source, so that an unknown never frees a second request.
type Delivery struct {
	state atomic.Int32
}

const (
	deliveryUnknown   int32 = iota
	deliveryNotSent         // a transport that reports is trying, and nothing has left
	deliveryMaybeSent       // a connection was made: bytes may have left (sticky)
)

type deliveryKey struct{}

// WithDelivery returns a context whose transports report on d.
func WithDelivery(ctx context.Context) (context.Context, *Delivery) {
	d := new(Delivery)
	return context.WithValue(ctx, deliveryKey{}, d), d
}

// NotSent reports whether the request certainly did not reach its source:
// a transport reported, and never made a connection.
func (d *Delivery) NotSent() bool { return d.state.Load() == deliveryNotSent }

// Trying is called by a transport that reports delivery before it tries
// to send: until it calls MaySend, nothing has left.
func Trying(ctx context.Context) {
	if d, _ := ctx.Value(deliveryKey{}).(*Delivery); d != nil {
		d.state.CompareAndSwap(deliveryUnknown, deliveryNotSent)
	}
}

// MaySend is called by a transport once bytes of the request may leave
// (a connection is made); from then on the request counts as received,
// whatever happens next, on this attempt or a retry.
func MaySend(ctx context.Context) {
	if d, _ := ctx.Value(deliveryKey{}).(*Delivery); d != nil {
		d.state.Store(deliveryMaybeSent)
	}
}

// Tracked reports whether ctx carries a Delivery.
func Tracked(ctx context.Context) bool {
	_, ok := ctx.Value(deliveryKey{}).(*Delivery)
	return ok
}
