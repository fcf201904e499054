package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a token bucket: one request every Every on average, Burst at
// once.
type Rate struct {
	Every time.Duration
	Burst int
}

// Limiter holds token buckets by class (sign-in, fetch, …) and key (a
// client's address, a citizen's pseudonym). The buckets live in this
// process: behind N replicas a client gets at most N times the rate, which
// the proxy in front can bound further.
type Limiter struct {
	rates   map[string]Rate
	now     func() time.Time
	mu      sync.Mutex
	buckets map[bucketKey]*bucket
	swept   time.Time
}

type bucketKey struct{ class, key string }

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter returns a limiter with the given rates per class; now is the
// clock (nil: time.Now).
func NewLimiter(rates map[string]Rate, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rates: rates, now: now, buckets: map[bucketKey]*bucket{}}
}

// idle is how long an unused bucket is kept: longer than any refill.
const idle = 10 * time.Minute

// Allow takes a token of key's bucket in class; when there is none, it says
// how long until there will be. An unknown class is not limited.
func (l *Limiter) Allow(class, key string) (bool, time.Duration) {
	r, ok := l.rates[class]
	if !ok {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > idle {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > idle {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	k := bucketKey{class, key}
	b := l.buckets[k]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Every(r.Every), r.Burst)}
		l.buckets[k] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Limit refuses requests of class over their rate, keyed by key(r), with
// refused (which should answer 429); Retry-After is set first.
func (l *Limiter) Limit(class string, key func(*http.Request) string, refused http.Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := l.Allow(class, key(r)); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			refused.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
