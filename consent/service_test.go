package consent_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/obert-gov/obert/consent"
)

// memStore is the smallest consent.Store for exercising the Service's own
// rules; the real backends are proven by consenttest in gateway/store.
type memStore struct {
	mu     sync.Mutex
	grants []consent.Grant
}

func (m *memStore) CreateGrant(_ context.Context, g consent.Grant) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.grants = append(m.grants, g)
	return nil
}

func (m *memStore) GetGrant(_ context.Context, subject, id string) (consent.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range m.grants {
		if g.ID == id && g.Subject == subject {
			return g, nil
		}
	}
	return consent.Grant{}, consent.ErrNotFound
}

func (m *memStore) ListGrants(_ context.Context, subject string) ([]consent.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []consent.Grant
	for i := len(m.grants) - 1; i >= 0; i-- {
		if m.grants[i].Subject == subject {
			out = append(out, m.grants[i])
		}
	}
	return out, nil
}

func (m *memStore) ActiveGrant(_ context.Context, subject, category, purpose string, at time.Time) (consent.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.grants) - 1; i >= 0; i-- {
		g := m.grants[i]
		if g.Subject == subject && g.Category == category && g.Purpose == purpose && g.ActiveAt(at) {
			return g, nil
		}
	}
	return consent.Grant{}, consent.ErrNotFound
}

func (m *memStore) ActiveGrants(ctx context.Context, subject, purpose string, categories []string, at time.Time) (map[string]consent.Grant, error) {
	out := map[string]consent.Grant{}
	for _, c := range categories {
		if g, err := m.ActiveGrant(ctx, subject, c, purpose, at); err == nil {
			out[c] = g
		}
	}
	return out, nil
}

func (m *memStore) WithdrawGrant(_ context.Context, subject, id string, at time.Time) (consent.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, g := range m.grants {
		if g.ID == id && g.Subject == subject {
			if !g.WithdrawnAt.IsZero() {
				return consent.Grant{}, consent.ErrAlreadyWithdrawn
			}
			m.grants[i].WithdrawnAt = at
			return m.grants[i], nil
		}
	}
	return consent.Grant{}, consent.ErrNotFound
}

func (m *memStore) PauseGrant(_ context.Context, subject, id string, at time.Time, pause bool) (consent.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, g := range m.grants {
		if g.ID == id && g.Subject == subject {
			switch {
			case !g.WithdrawnAt.IsZero():
				return consent.Grant{}, consent.ErrAlreadyWithdrawn
			case pause == !g.PausedAt.IsZero():
				return consent.Grant{}, consent.ErrInvalid
			case pause:
				m.grants[i].PausedAt = at
			default:
				m.grants[i].PausedAt = time.Time{}
			}
			return m.grants[i], nil
		}
	}
	return consent.Grant{}, consent.ErrNotFound
}

func (m *memStore) ClaimRequest(_ context.Context, id string, prev, at time.Time, minInterval time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, g := range m.grants {
		if g.ID == id {
			if !g.LastRequest.Equal(prev) || !g.LastRequest.IsZero() && at.Sub(g.LastRequest) < minInterval {
				return false, nil
			}
			m.grants[i].LastRequest = at
			return true, nil
		}
	}
	return false, consent.ErrNotFound
}

func (m *memStore) ReleaseRequest(_ context.Context, id string, prev, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, g := range m.grants {
		if g.ID == id && g.LastRequest.Equal(at) {
			m.grants[i].LastRequest = prev
			return true, nil
		}
	}
	return false, nil
}

func (m *memStore) GrantByID(_ context.Context, id string) (consent.Grant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range m.grants {
		if g.ID == id {
			return g, nil
		}
	}
	return consent.Grant{}, consent.ErrNotFound
}

func newService(t *testing.T, now *time.Time) *consent.Service {
	t.Helper()
	offers, err := consent.DefaultOffers()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	s, err := consent.NewService(&memStore{}, offers,
		consent.WithClock(func() time.Time { return *now }),
		consent.WithIDs(func() string { n++; return "g" + strconv.Itoa(n) }))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGrantCheckWithdrawExpire(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	s := newService(t, &now)
	o, ok := s.Offer("census", "aid-recommendation")
	if !ok {
		t.Fatal("no census offer")
	}
	if _, err := s.Active(ctx, "alice", "census", "aid-recommendation"); !errors.Is(err, consent.ErrNoConsent) {
		t.Fatalf("Active before grant = %v, want ErrNoConsent", err)
	}
	g, err := s.Grant(ctx, "alice", "census", "aid-recommendation", o.TextVersion, "es")
	if err != nil {
		t.Fatal(err)
	}
	if g.Requester != o.Requester || g.Source != o.Source || g.LegalBasis != consent.BasisConsent || g.Language != "es" {
		t.Fatalf("grant does not carry the offer: %+v", g)
	}
	if !g.ExpiresAt.Equal(now.Add(time.Duration(o.Retention))) {
		t.Fatalf("ExpiresAt = %v", g.ExpiresAt)
	}
	if a, err := s.Active(ctx, "alice", "census", "aid-recommendation"); err != nil || a.ID != g.ID {
		t.Fatalf("Active = %v, %v", a.ID, err)
	}
	if _, err := s.Active(ctx, "bob", "census", "aid-recommendation"); !errors.Is(err, consent.ErrNoConsent) {
		t.Fatal("another subject is covered by alice's consent")
	}
	now = now.Add(time.Duration(o.Retention))
	if _, err := s.Active(ctx, "alice", "census", "aid-recommendation"); !errors.Is(err, consent.ErrNoConsent) {
		t.Fatal("expired grant still active")
	}
	now = now.Add(-time.Hour)
	if _, err := s.Withdraw(ctx, "bob", g.ID); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("bob withdrew alice's grant: %v", err)
	}
	if _, err := s.Withdraw(ctx, "alice", g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Active(ctx, "alice", "census", "aid-recommendation"); !errors.Is(err, consent.ErrNoConsent) {
		t.Fatal("withdrawn grant still active")
	}
}

func TestGrantRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	s := newService(t, &now)
	v := "census-aid-recommendation-v1"
	cases := []struct{ subject, cat, purpose, version, lang string }{
		{"", "census", "aid-recommendation", v, "ca"},
		{"alice", "medical", "aid-recommendation", v, "ca"},
		{"alice", "census", "marketing", v, "ca"},
		{"alice", "census", "aid-recommendation", "census-aid-recommendation-v0", "ca"},
		{"alice", "census", "aid-recommendation", v, "fr"},
	}
	for _, c := range cases {
		if _, err := s.Grant(ctx, c.subject, c.cat, c.purpose, c.version, c.lang); !errors.Is(err, consent.ErrInvalid) {
			t.Errorf("Grant(%+v) = %v, want ErrInvalid", c, err)
		}
	}
	if l, _ := s.List(ctx, "alice"); len(l) != 0 {
		t.Fatalf("a refused grant was written: %+v", l)
	}
}

func TestGrantTaxYears(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	svc := newService(t, &now)
	tax, _ := svc.Offer("tax", "aid-recommendation")
	census, _ := svc.Offer("census", "aid-recommendation")
	for name, tc := range map[string]struct {
		o  consent.Offer
		l  consent.Limits
		ok bool
	}{
		"bounded":             {tax, consent.Limits{FromYear: 2021, ToYear: 2023}, true},
		"from only":           {tax, consent.Limits{FromYear: 2017}, true},
		"to only":             {tax, consent.Limits{ToYear: 2025}, true},
		"the year not ended":  {tax, consent.Limits{ToYear: 2026}, false},
		"too far back":        {tax, consent.Limits{FromYear: 2015}, false},
		"backwards":           {tax, consent.Limits{FromYear: 2024, ToYear: 2022}, false},
		"data without period": {census, consent.Limits{FromYear: 2022}, false},
	} {
		g, err := svc.GrantWithLimits(ctx, "s-"+name, tc.o.Category, tc.o.Purpose, tc.o.TextVersion, "ca", tc.l)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, consent.ErrInvalid)) {
			t.Errorf("%s: %v", name, err)
		}
		if err == nil && (g.FromYear != tc.l.FromYear || g.ToYear != tc.l.ToYear) {
			t.Errorf("%s: grant %d–%d", name, g.FromYear, g.ToYear)
		}
	}
	// The year asked: the last ended, or the last allowed if earlier.
	for _, tc := range []struct {
		g    consent.Grant
		want int
	}{{consent.Grant{}, 0}, {consent.Grant{FromYear: 2021}, 2025}, {consent.Grant{FromYear: 2021, ToYear: 2023}, 2023}, {consent.Grant{ToYear: 2025}, 2025}} {
		if got := tc.g.Period(now); got != tc.want {
			t.Errorf("Period of %d–%d = %d, want %d", tc.g.FromYear, tc.g.ToYear, got, tc.want)
		}
	}
}
