package consent

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Service grants, checks and withdraws consent against the offers it knows.
type Service struct {
	store  Store
	mu     sync.RWMutex // guards offers and order
	offers map[offerKey]Offer
	order  []Offer
	now    func() time.Time
	newID  func() string
}

type offerKey struct{ category, purpose string }

// Option configures a Service.
type Option func(*Service)

// WithClock injects the clock (tests use a fixed one).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithIDs injects the grant id source.
func WithIDs(newID func() string) Option { return func(s *Service) { s.newID = newID } }

// NewService returns a Service over store offering offers.
func NewService(store Store, offers []Offer, opts ...Option) (*Service, error) {
	s := &Service{store: store, offers: map[offerKey]Offer{}, now: time.Now, newID: randomID}
	for _, o := range offers {
		if err := o.validate(); err != nil {
			return nil, err
		}
		k := offerKey{o.Category, o.Purpose}
		if _, dup := s.offers[k]; dup {
			return nil, fmt.Errorf("consent: two offers for %s/%s", o.Category, o.Purpose)
		}
		s.offers[k] = o
		s.order = append(s.order, o)
	}
	for _, opt := range opts {
		opt(s)
	}
	return s, nil
}

// Offers lists what can be consented to, in catalogue order.
func (s *Service) Offers() []Offer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.order)
}

// Offer returns the offer for category and purpose.
func (s *Service) Offer(category, purpose string) (Offer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.offers[offerKey{category, purpose}]
	return o, ok
}

// PutOffer adds an offer, or replaces the one for its category and purpose
// (a new text version: grants given under the old one stay as they were).
func (s *Service) PutOffer(o Offer) error {
	if err := o.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := offerKey{o.Category, o.Purpose}
	if _, ok := s.offers[k]; ok {
		i := slices.IndexFunc(s.order, func(x Offer) bool { return x.Category == o.Category && x.Purpose == o.Purpose })
		s.order[i] = o
	} else {
		s.order = append(s.order, o)
	}
	s.offers[k] = o
	return nil
}

// RemoveOffer stops offering category for purpose; existing grants stay
// until withdrawn or expired.
func (s *Service) RemoveOffer(category, purpose string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.offers, offerKey{category, purpose})
	s.order = slices.DeleteFunc(s.order, func(x Offer) bool { return x.Category == category && x.Purpose == purpose })
}

// Grant records the subject's consent to the offer for category and purpose,
// as shown in textVersion and lang. A stale text version is refused: the
// citizen must have seen the text that is current.
func (s *Service) Grant(ctx context.Context, subject, category, purpose, textVersion, lang string) (Grant, error) {
	return s.GrantWithLimits(ctx, subject, category, purpose, textVersion, lang, Limits{})
}

// Limits are what a citizen may set on a grant: how often the source may
// be asked, how long fetched data may be kept (zero: no limit beyond the
// offer's) and, for a source with periods, which years it may be asked
// about (zero: any).
type Limits struct {
	MinInterval, DataLife time.Duration
	FromYear, ToYear      int
}

// YearsBack is how many past tax years a consent may be bounded to.
const YearsBack = 10

// TaxYears are the tax years a consent may bound a source with periods
// to, newest first: the last YearsBack that have ended by now.
func TaxYears(now time.Time) []int {
	years := make([]int, YearsBack)
	for i := range years {
		years[i] = now.Year() - 1 - i
	}
	return years
}

// Intervals and DataLives are the limits the consent page offers.
var (
	Intervals = []time.Duration{0, time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}
	DataLives = []time.Duration{0, 24 * time.Hour, 7 * 24 * time.Hour}
)

// GrantWithLimits is Grant with the citizen's limits, which must be among
// those offered (a data life shorter than the offer's retention).
func (s *Service) GrantWithLimits(ctx context.Context, subject, category, purpose, textVersion, lang string, l Limits) (Grant, error) {
	if !slices.Contains(Intervals, l.MinInterval) || !slices.Contains(DataLives, l.DataLife) {
		return Grant{}, fmt.Errorf("%w: limits not offered", ErrInvalid)
	}
	if subject == "" {
		return Grant{}, fmt.Errorf("%w: no subject", ErrInvalid)
	}
	o, ok := s.Offer(category, purpose)
	if !ok {
		return Grant{}, fmt.Errorf("%w: nothing to consent to for category %q and purpose %q", ErrInvalid, category, purpose)
	}
	if textVersion != o.TextVersion {
		return Grant{}, fmt.Errorf("%w: the text shown (%q) is not the current one (%q)", ErrInvalid, textVersion, o.TextVersion)
	}
	if !slices.Contains(Languages, lang) {
		return Grant{}, fmt.Errorf("%w: unknown language %q", ErrInvalid, lang)
	}
	now := s.now().UTC()
	if err := l.checkYears(o, now); err != nil {
		return Grant{}, err
	}
	g := Grant{
		ID: s.newID(), Subject: subject, Category: category, Purpose: purpose,
		Requester: o.Requester, Source: o.Source, LegalBasis: BasisConsent,
		TextVersion: o.TextVersion, Language: lang,
		GrantedAt: now, ExpiresAt: now.Add(time.Duration(o.Retention)),
		MinInterval: l.MinInterval, DataLife: l.DataLife, FromYear: l.FromYear, ToYear: l.ToYear,
	}
	if g.DataLife >= time.Duration(o.Retention) {
		g.DataLife = 0 // no shorter than the offer's: none
	}
	if err := s.store.CreateGrant(ctx, g); err != nil {
		return Grant{}, err
	}
	return g, nil
}

// checkYears refuses years on an offer without periods, and a range that
// is not among the past tax years offered, or backwards.
func (l Limits) checkYears(o Offer, now time.Time) error {
	if l.FromYear == 0 && l.ToYear == 0 {
		return nil
	}
	years := TaxYears(now)
	last, first := years[0], years[len(years)-1]
	switch {
	case o.Periods != PeriodYear:
		return fmt.Errorf("%w: the source of %s has no periods to bound", ErrInvalid, o.Category)
	case l.FromYear != 0 && (l.FromYear < first || l.FromYear > last),
		l.ToYear != 0 && (l.ToYear < first || l.ToYear > last):
		return fmt.Errorf("%w: years outside %d–%d", ErrInvalid, first, last)
	case l.FromYear != 0 && l.ToYear != 0 && l.FromYear > l.ToYear:
		return fmt.Errorf("%w: the first year after the last", ErrInvalid)
	}
	return nil
}

// Withdraw withdraws the subject's grant id at once.
func (s *Service) Withdraw(ctx context.Context, subject, id string) (Grant, error) {
	return s.store.WithdrawGrant(ctx, subject, id, s.now().UTC())
}

// Pause pauses the subject's grant id: it authorises nothing until resumed.
func (s *Service) Pause(ctx context.Context, subject, id string) (Grant, error) {
	return s.store.PauseGrant(ctx, subject, id, s.now().UTC(), true)
}

// Resume resumes the subject's paused grant id.
func (s *Service) Resume(ctx context.Context, subject, id string) (Grant, error) {
	return s.store.PauseGrant(ctx, subject, id, s.now().UTC(), false)
}

// Claim is a request counted against a grant's limit on how often its
// source may be asked. The zero Claim counts nothing.
type Claim struct {
	GrantID  string
	Prev, At time.Time // the last request before it (zero: none), and its own time
}

// ClaimRequest reports whether the source may be asked now under g: always
// when g sets no interval (with the zero Claim); otherwise once per
// interval, whichever process asks. The claim replaces g.LastRequest only
// if that is still the last request, so that ReleaseRequest can put it
// back exactly.
func (s *Service) ClaimRequest(ctx context.Context, g Grant) (Claim, bool, error) {
	if g.MinInterval <= 0 {
		return Claim{}, true, nil
	}
	c := Claim{GrantID: g.ID, Prev: g.LastRequest, At: s.now().UTC()}
	ok, err := s.store.ClaimRequest(ctx, c.GrantID, c.Prev, c.At, g.MinInterval)
	if err != nil || !ok {
		return Claim{}, false, err
	}
	return c, true, nil
}

// ReleaseRequest gives back a claim whose request never reached the
// source (it could not be recorded, signed or sent): the citizen's limit
// counts the requests their source received, so a failed attempt does not
// cost them the next interval's data. A claim another one has replaced
// stays as it is.
func (s *Service) ReleaseRequest(ctx context.Context, c Claim) error {
	if c.GrantID == "" {
		return nil
	}
	_, err := s.store.ReleaseRequest(ctx, c.GrantID, c.Prev, c.At)
	return err
}

// ByID returns the grant id, whoever it belongs to: for the status of a
// receipt, which names it.
func (s *Service) ByID(ctx context.Context, id string) (Grant, error) {
	return s.store.GrantByID(ctx, id)
}

// Get returns the subject's grant id; ErrNotFound also for someone else's.
func (s *Service) Get(ctx context.Context, subject, id string) (Grant, error) {
	return s.store.GetGrant(ctx, subject, id)
}

// List returns every grant of the subject, newest first.
func (s *Service) List(ctx context.Context, subject string) ([]Grant, error) {
	return s.store.ListGrants(ctx, subject)
}

// Active returns the grant that authorises processing category for purpose
// now, or ErrNoConsent. Any other error means the lookup failed, and callers
// must fail closed.
func (s *Service) Active(ctx context.Context, subject, category, purpose string) (Grant, error) {
	g, err := s.store.ActiveGrant(ctx, subject, category, purpose, s.now().UTC())
	if errors.Is(err, ErrNotFound) {
		return Grant{}, ErrNoConsent
	}
	return g, err
}

// ActiveAll does what Active does for each of categories, in one lookup:
// the grants that authorise processing them for purpose now, by category;
// a category without one is absent. An error means the lookup failed, and
// callers must fail closed.
func (s *Service) ActiveAll(ctx context.Context, subject, purpose string, categories []string) (map[string]Grant, error) {
	return s.store.ActiveGrants(ctx, subject, purpose, categories, s.now().UTC())
}

func randomID() string {
	return "cg_" + rand.Text()
}
