package activity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors/scsp"
)

// Store keeps the citizens' acknowledgements.
type Store interface {
	// PutAcknowledgement stores one; ErrDecided when that notification
	// already has one.
	PutAcknowledgement(ctx context.Context, a Acknowledgement) error
	// Acknowledgements returns the subject's, newest first.
	Acknowledgements(ctx context.Context, subject string) ([]Acknowledgement, error)
}

// Recorder commits audit entries; it returns only once they are committed.
type Recorder interface {
	RecordAll(ctx context.Context, es []audit.Entry) error
}

// Config configures the service.
type Config struct {
	Sources []Source
	Store   Store
	Audit   Recorder
	Signer  *AckSigner
	// Requester is who reads on the citizen's behalf (Obert), in the log.
	Requester string
	// Timeout bounds each source's answer (default 5 s).
	Timeout time.Duration
	Now     func() time.Time
}

// Service reads the citizen's activity and records their decisions. Its
// sources are the built-in ones and those administrations register, which
// come and go as the catalogue changes.
type Service struct {
	cfg     Config
	mu      sync.RWMutex
	sources []Source
}

// New returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Audit == nil || cfg.Signer == nil {
		return nil, errors.New("activity: store, audit and signer are required")
	}
	for _, s := range cfg.Sources {
		if err := s.valid(); err != nil {
			return nil, err
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, sources: slices.Clone(cfg.Sources)}, nil
}

func (src Source) valid() error {
	if src.ID == "" || (src.Kind != Applications && src.Kind != Notifications) || src.Endpoint == "" {
		return fmt.Errorf("activity: source %q needs an id, a kind and an endpoint", src.ID)
	}
	return nil
}

// Sources lists the sources, for pages that name them.
func (s *Service) Sources() []Source {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.sources)
}

// Put adds a source, or replaces the one with its id (an administration
// registered or updated it).
func (s *Service) Put(src Source) error {
	if err := src.valid(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sources = slices.DeleteFunc(s.sources, func(x Source) bool { return x.ID == src.ID })
	s.sources = append(s.sources, src)
	return nil
}

// Remove takes the source with id out (deactivated).
func (s *Service) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sources = slices.DeleteFunc(s.sources, func(x Source) bool { return x.ID == id })
}

// Overview reads every source at once. Each read is an audit entry, all
// committed before anything is returned: if they cannot be, nothing is
// (ErrAuditUnavailable). A source that fails is listed in Failed and the
// others are shown. Content is kept only for notifications accepted, and
// only at level substantial or higher.
func (s *Service) Overview(ctx context.Context, c Citizen) (Overview, error) {
	type result struct {
		apps   []Application
		notifs []Notification
		err    error
	}
	sources := s.Sources()
	results := make([]result, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
			defer cancel()
			if src.Kind == Applications {
				results[i].apps, results[i].err = src.Applications(ctx, c)
			} else {
				results[i].notifs, results[i].err = src.Notifications(ctx, c)
			}
		})
	}
	wg.Wait()
	var out Overview
	entries := make([]audit.Entry, len(sources))
	for i, src := range sources {
		entries[i] = s.entry(KindRead, c, src, "", results[i].err)
		if err := results[i].err; err != nil {
			out.Failed = append(out.Failed, Failure{Source: src.ID, Kind: src.Kind, Err: err})
			continue
		}
		out.Applications = append(out.Applications, results[i].apps...)
		out.Notifications = append(out.Notifications, results[i].notifs...)
	}
	if err := s.cfg.Audit.RecordAll(ctx, entries); err != nil {
		return Overview{}, fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
	}
	acks, err := s.cfg.Store.Acknowledgements(ctx, c.Subject)
	if err != nil {
		return Overview{}, err
	}
	now := s.cfg.Now()
	for i, n := range out.Notifications {
		// Obert's own record of the citizen's decision stands even when
		// the source has forgotten it.
		for _, a := range acks {
			if a.Source == n.Source && a.Notification == n.ID {
				n.State, n.DecidedAt = a.Decision, a.DecidedAt
			}
		}
		n.State = StateAt(n.State, n.Posted, now)
		if n.State != Accepted || !c.Substantial() {
			n.Content = nil
		}
		out.Notifications[i] = n
	}
	slices.SortStableFunc(out.Applications, func(a, b Application) int { return b.Started.Compare(a.Started) })
	slices.SortStableFunc(out.Notifications, func(a, b Notification) int { return b.Posted.Compare(a.Posted) })
	return out, nil
}

// Decide records the citizen accepting or rejecting a notification: the
// audit entry first (without it nothing is sent), then the source is told,
// then the acknowledgement is kept. It needs level substantial or higher.
func (s *Service) Decide(ctx context.Context, c Citizen, source, id, decision string) (Notification, error) {
	if decision != Accepted && decision != Rejected {
		return Notification{}, fmt.Errorf("activity: decision %q", decision)
	}
	if !c.Substantial() {
		return Notification{}, ErrLevelTooLow
	}
	sources := s.Sources()
	i := slices.IndexFunc(sources, func(x Source) bool { return x.ID == source && x.Kind == Notifications })
	if i < 0 {
		return Notification{}, ErrNotFound
	}
	src := sources[i]
	kind := KindAccept
	if decision == Rejected {
		kind = KindReject
	}
	e := s.entry(kind, c, src, id, nil)
	e.Outcome = "pending"
	if err := s.cfg.Audit.RecordAll(ctx, []audit.Entry{e}); err != nil {
		return Notification{}, fmt.Errorf("%w: %w", ErrAuditUnavailable, err)
	}
	at := s.cfg.Now().UTC().Truncate(time.Second)
	ctx2, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	n, err := src.Decide(ctx2, c, id, decision, at)
	cancel()
	done := s.entry(kind, c, src, id, err)
	done.IntentID = e.ID
	if rerr := s.cfg.Audit.RecordAll(ctx, []audit.Entry{done}); rerr != nil && err == nil {
		err = fmt.Errorf("%w: %w", ErrAuditUnavailable, rerr)
	}
	if err != nil {
		return Notification{}, err
	}
	if n.State != decision {
		return Notification{}, fmt.Errorf("%w: the source did not record the decision", ErrSource)
	}
	n.OpenUntil = OpenUntil(n.Posted)
	a := Acknowledgement{Version: AckVersion, Principal: c.Subject, Source: src.ID, Notification: id, Posted: n.Posted.UTC(),
		Decision: decision, DecidedAt: n.DecidedAt.UTC(), LoA: c.LoA, ContentSHA256: contentDigest(n.Content), LegalBasis: LegalBasis}
	if a.DecidedAt.IsZero() {
		a.DecidedAt = at
	}
	if err := s.cfg.Store.PutAcknowledgement(ctx, a); err != nil && !errors.Is(err, ErrDecided) {
		return Notification{}, err
	}
	return n, nil
}

// Acknowledgement returns the signed acknowledgement of the subject's
// decision on a notification (ErrNotFound when there is none).
func (s *Service) Acknowledgement(ctx context.Context, subject, source, id string) ([]byte, error) {
	acks, err := s.cfg.Store.Acknowledgements(ctx, subject)
	if err != nil {
		return nil, err
	}
	for _, a := range acks {
		if a.Source == source && a.Notification == id {
			return s.cfg.Signer.Sign(a)
		}
	}
	return nil, ErrNotFound
}

// entry is the audit entry of one read or decision; err classifies the
// outcome (never personal data).
func (s *Service) entry(kind string, c Citizen, src Source, id string, err error) audit.Entry {
	e := audit.Entry{ID: "ae_" + requestID()[len("OBERT-ACT-"):], Kind: kind, Subject: c.Subject, Requester: s.cfg.Requester, Source: src.ID,
		Category: src.Kind, LegalBasis: LegalBasis, Outcome: "ok", RequestID: id}
	switch {
	case err == nil:
	case errors.Is(err, ErrExpired), errors.Is(err, ErrDecided), errors.Is(err, ErrNotFound):
		e.Outcome, e.Error = "denied", errorClass(err)
	default:
		e.Outcome, e.Error = "error", errorClass(err)
	}
	return e
}

func errorClass(err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrDecided):
		return "already-decided"
	case errors.Is(err, ErrNotFound):
		return "unknown-notification"
	case errors.Is(err, scsp.ErrSignature):
		return "bad-signature"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "unavailable"
}
