// Package exchange runs one citizen's data exchanges end to end, in the only
// order that keeps Obert's promises: consent lookup, policy decision, an
// intent entry committed to the audit log, the connector's request, an
// outcome entry, and the facts sealed at rest until their consent ends.
//
// Every failure of the consent lookup, the policy engine or the audit log
// fails closed: no request leaves, no fact is kept or shown.
package exchange

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/connectors"
	"github.com/obert-gov/obert/consent"
	"github.com/obert-gov/obert/policy"
)

// Status of one category's exchange, as the citizen is told.
type Status string

const (
	StatusOK               Status = "ok"
	StatusNoConsent        Status = "no-consent"
	StatusDenied           Status = "denied"
	StatusFailed           Status = "failed"
	StatusAuditUnavailable Status = "audit-unavailable"
)

// ErrNoFacts means no unexpired facts are stored for that subject and category.
var ErrNoFacts = errors.New("exchange: no stored facts")

// ErrGrantWithdrawn means facts were not stored because the grant they were
// fetched under was withdrawn meanwhile.
var ErrGrantWithdrawn = errors.New("exchange: the grant was withdrawn")

// Consents is what the exchange needs of the consent service.
type Consents interface {
	Active(ctx context.Context, subject, category, purpose string) (consent.Grant, error)
	ActiveAll(ctx context.Context, subject, purpose string, categories []string) (map[string]consent.Grant, error)
}

// RequestClaimer is a consent service that enforces a grant's limit on how
// often the source may be asked: ClaimRequest reports whether a request
// may go now, atomically across processes; ReleaseRequest gives back the
// claim of a request that never reached the source.
type RequestClaimer interface {
	ClaimRequest(ctx context.Context, g consent.Grant) (consent.Claim, bool, error)
	ReleaseRequest(ctx context.Context, c consent.Claim) error
}

var _ RequestClaimer = (*consent.Service)(nil)

// Recorder commits one audit entry; it returns only once the entry is
// durable, or an error.
type Recorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// Sealer encrypts facts at rest, bound to a context.
type Sealer interface {
	Seal(plaintext, context []byte) []byte
	Open(sealed, context []byte) ([]byte, error)
}

// SealedFacts is the stored form of one category's facts, as fetched for
// one purpose: a purpose that asks a minimised question keeps its answer
// beside, never instead of, another purpose's full answer.
type SealedFacts struct {
	Subject, Category, Purpose, GrantID string
	Sealed                              []byte
	FetchedAt, ExpiresAt                time.Time
}

// FactStore keeps sealed facts, one set per subject, category and purpose.
type FactStore interface {
	// PutFactsAll stores the sets of one fetch in one transaction, each
	// unless its grant was withdrawn: errs[i] is ErrGrantWithdrawn for a
	// set not stored for that reason; err, when the transaction failed,
	// means none was stored.
	PutFactsAll(ctx context.Context, fs []SealedFacts) (errs []error, err error)
	GetFacts(ctx context.Context, subject, category, purpose string, at time.Time) (SealedFacts, error)
	// FactsHeld lists every unexpired set of the subject's facts.
	FactsHeld(ctx context.Context, subject string, at time.Time) ([]SealedFacts, error)
	DeleteFactsOfGrant(ctx context.Context, subject, grantID string) (int64, error)
}

// Purpose is how a purpose travels in SCSP: its Finalidad text and the
// procedure it belongs to.
type Purpose struct {
	Finalidad string
	Procedure string
	// Reuses names the purpose whose stored facts this one may use, when
	// the citizen consented to both (proactive alerts read the facts
	// fetched for recommendations rather than asking the sources again).
	Reuses string
	// LegalBasis is what the purpose runs on: consent ("gdpr-6-1-a", the
	// zero value's meaning too), a law ("law:…") or a law unless the
	// citizen objects ("noopo:…"). Off consent, no grant is looked up: the
	// guard's law decides, and the facts are kept for Retention.
	LegalBasis string
	Retention  time.Duration
	// AutomatedAction makes the purpose's requests (Law 40/2015, art.
	// 41): each request and its entries name it, and the case file.
	AutomatedAction string
}

// CaseFile is the case file (SCSP IdExpediente) of a citizen's exchanges
// for a purpose: the procedure's code and a digest of the pseudonym and
// the purpose, the same for all of them and telling nothing of who.
func CaseFile(procedure, subject, purpose string) string {
	sum := sha256.Sum256([]byte(subject + "\x00" + purpose))
	return procedure + "-" + strings.ToUpper(hex.EncodeToString(sum[:5]))
}

// onLaw reports whether p runs on a law rather than on consent, and
// whether the citizen may object to it.
func (p Purpose) onLaw() (law, noopo bool) {
	switch {
	case strings.HasPrefix(p.LegalBasis, "law:"):
		return true, false
	case strings.HasPrefix(p.LegalBasis, "noopo:"):
		return true, true
	}
	return false, false
}

// Citizen is the signed-in person an exchange is about.
type Citizen struct {
	Subject string // keyed hash: the only identifier recorded
	LoA     string
	Titular connectors.Titular
	// A company's exchange made by one who acts for it: the company's NIF
	// (also the Titular) and the representative's pseudonym, which every
	// entry carries.
	OnBehalfOf, Representative string
}

// Result is one category's outcome.
type Result struct {
	Category  string
	Source    string
	Connector string
	Status    Status
	Reason    string // a stable code, never personal data
	Facts     map[string]any
}

// Config assembles an Exchanger.
type Config struct {
	Connectors []connectors.Connector // each should implement connectors.Describer
	Consents   Consents
	Guard      policy.Decider
	Audit      Recorder
	Facts      FactStore
	Sealer     Sealer
	Requester  connectors.Requester
	Purposes   map[string]Purpose
	Deadline   time.Duration // for a whole fan-out; default 10 s
	// Start, if set, is each fetch's first read, in place of
	// Consents.ActiveAll: it brings the connectors to the catalogue's
	// newest version, so that a connector deactivated on any replica is
	// not used here once that change has committed, and returns the
	// citizen's grants for purpose in force now, of every category, as
	// ActiveAll does; both from one read of the store (one round trip
	// for what took two). If it fails, nothing leaves.
	Start func(ctx context.Context, subject, purpose string) (map[string]consent.Grant, error)
	// Serves, if set, lists the categories a purpose may receive at all:
	// FetchAll asks only for those (a company's data is never asked, nor
	// refused, for a person's recommendations).
	Serves func(ctx context.Context, purpose string) []string
	// Objected says whether the citizen objected to a purpose that runs on
	// a law unless they object; it is asked before every such exchange,
	// and if it cannot answer nothing leaves.
	Objected func(ctx context.Context, subject, purpose string) (bool, error)
	Now      func() time.Time
	NewID    func() string
}

// NewID is an id for an audit entry or a request: "ex_" and 26 characters
// of base32hex encoding 128 bits, the first 48 the time in milliseconds and
// the other 80 random. Ids made later sort after, so the audit log's index of
// entry ids grows at its end: random ids put each new entry on a page of
// its own, and a sweep's batches wrote a page of that index per entry.
func NewID() string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i], ms = byte(ms), ms>>8
	}
	rand.Read(b[6:])
	return "ex_" + idEncoding.EncodeToString(b[:])
}

var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// Exchanger runs exchanges. It is safe for concurrent use.
type Exchanger struct {
	cfg   Config
	mu    sync.RWMutex // guards byCat and order: connectors come and go
	byCat map[string]connectors.Connector
	order []string
}

// Register adds a connector for a category that has none, or replaces the
// one it has (an administration updated its registration).
func (e *Exchanger) Register(c connectors.Connector) {
	e.mu.Lock()
	defer e.mu.Unlock()
	cat := string(c.Category())
	if _, ok := e.byCat[cat]; !ok {
		e.order = append(e.order, cat)
	}
	e.byCat[cat] = c
}

// Unregister removes the connector of category: nothing more is fetched
// for it; facts already held stay until their consent ends.
func (e *Exchanger) Unregister(category string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.byCat, category)
	e.order = slices.DeleteFunc(e.order, func(c string) bool { return c == category })
}

// connector returns the category's connector and the categories, under
// the lock.
func (e *Exchanger) connector(category string) (connectors.Connector, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	c, ok := e.byCat[category]
	return c, ok
}

func (e *Exchanger) categories() []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return slices.Clone(e.order)
}

// New checks cfg and returns an Exchanger.
func New(cfg Config) (*Exchanger, error) {
	if cfg.Consents == nil || cfg.Guard == nil || cfg.Audit == nil || cfg.Facts == nil || cfg.Sealer == nil {
		return nil, errors.New("exchange: consents, guard, audit, facts and sealer are all required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = NewID
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = 10 * time.Second
	}
	e := &Exchanger{cfg: cfg, byCat: map[string]connectors.Connector{}}
	for _, c := range cfg.Connectors {
		cat := string(c.Category())
		if _, dup := e.byCat[cat]; dup {
			return nil, fmt.Errorf("exchange: two connectors for category %q", cat)
		}
		e.byCat[cat] = c
		e.order = append(e.order, cat)
	}
	return e, nil
}

// Categories lists the categories with a connector, in registration order.
func (e *Exchanger) Categories() []string { return e.categories() }

// Connectors describes the registered connectors, in registration order.
func (e *Exchanger) Connectors() []connectors.Description {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []connectors.Description
	for _, cat := range e.order {
		out = append(out, describe(e.byCat[cat]))
	}
	return out
}

func describe(c connectors.Connector) connectors.Description {
	if d, ok := c.(connectors.Describer); ok {
		return d.Describe()
	}
	return connectors.Description{ID: string(c.Category()), Category: c.Category()}
}

// FetchAll fetches every category the citizen consented to for purpose, in
// parallel under one deadline, and reports each honestly.
func (e *Exchanger) FetchAll(ctx context.Context, c Citizen, purpose string) []Result {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Deadline)
	defer cancel()
	grants, read, err := e.start(ctx, c.Subject, purpose)
	if err != nil {
		return e.unavailable(e.categories())
	}
	cats := e.categories()
	if e.cfg.Serves != nil {
		served := e.cfg.Serves(ctx, purpose)
		cats = slices.DeleteFunc(cats, func(c string) bool { return !slices.Contains(served, c) })
	}
	return e.fetch(ctx, c, cats, purpose, grants, read)
}

// Fetch runs one category's exchange.
func (e *Exchanger) Fetch(ctx context.Context, c Citizen, category, purpose string) Result {
	grants, read, err := e.start(ctx, c.Subject, purpose)
	if err != nil {
		return e.unavailable([]string{category})[0]
	}
	return e.fetch(ctx, c, []string{category}, purpose, grants, read)[0]
}

// start runs Start, if set: it returns the citizen's grants for purpose,
// read true; otherwise fetch looks them up.
func (e *Exchanger) start(ctx context.Context, subject, purpose string) (grants map[string]consent.Grant, read bool, err error) {
	if e.cfg.Start == nil {
		return nil, false, nil
	}
	grants, err = e.cfg.Start(ctx, subject, purpose)
	return grants, err == nil, err
}

// unavailable is the result of exchanges that could not learn which
// connectors are current: nothing was asked of anyone.
func (e *Exchanger) unavailable(cats []string) []Result {
	out := make([]Result, len(cats))
	for i, cat := range cats {
		out[i] = Result{Category: cat, Status: StatusFailed, Reason: "catalogue-unavailable"}
	}
	return out
}

// fetch runs the exchanges of cats. Every category is decided first, from
// one lookup of the citizen's grants for all of them (grants, when read
// already with the catalogue's version); the entries of all of them (the
// intents, and the refusals) are committed to the audit log together,
// and only then do the allowed requests leave, all at once.
func (e *Exchanger) fetch(ctx context.Context, c Citizen, cats []string, purpose string, grants map[string]consent.Grant, read bool) []Result {
	var err error
	if !read {
		grants, err = e.cfg.Consents.ActiveAll(ctx, c.Subject, purpose, cats)
	}
	plans := make([]plan, len(cats))
	for i, cat := range cats {
		// One after the other: a decision is a guard evaluation, which
		// takes less than waking another goroutine for it.
		plans[i] = e.decide(ctx, c, cat, purpose, grants, err)
	}
	var entries []audit.Entry
	for _, p := range plans {
		if p.entry != nil {
			entries = append(entries, *p.entry)
		}
	}
	// While the intents commit, each allowed request is built and signed
	// (a signature is the costliest step of an exchange) and leaves as
	// soon as it is ready and the intents are committed: none leaves
	// before, and if the commit fails none leaves.
	out := make([]Result, len(cats))
	keep := make([]*SealedFacts, len(cats))
	committed := make(chan struct{})
	var commitErr error
	var wg sync.WaitGroup
	for i, p := range plans {
		if p.conn == nil {
			continue
		}
		wg.Go(func() {
			ctx, delivery := connectors.WithDelivery(ctx)
			ready, readyErr := connectors.Prepare(ctx, p.conn, e.request(c, p))
			<-committed
			if commitErr != nil {
				out[i] = p.res
				out[i].Status, out[i].Reason = StatusAuditUnavailable, "audit-unavailable"
				e.giveBack(ctx, p)
				return
			}
			out[i], keep[i] = e.send(ctx, p, ready, readyErr)
			if readyErr != nil || delivery.NotSent() {
				e.giveBack(ctx, p)
			}
		})
	}
	commitErr = e.recordAll(ctx, entries)
	close(committed)
	for i, p := range plans {
		switch {
		case p.conn != nil:
		case p.entry != nil && commitErr != nil:
			// A refusal stands either way, and the page says the log
			// could not take it.
			out[i] = p.res
			out[i].Status, out[i].Reason = StatusAuditUnavailable, "audit-unavailable"
		default:
			out[i] = p.res
		}
	}
	wg.Wait()
	e.keep(ctx, out, keep)
	return out
}

// giveBack gives back p's claim against the citizen's limit on how often
// the source may be asked: its request never reached the source (the
// intent was not committed, the request could not be prepared, or no
// connection was made). It runs even when the fetch's deadline has passed,
// which is how most such requests fail. If it fails, the claim stays: the
// citizen waits for the next interval, and nothing is sent twice.
func (e *Exchanger) giveBack(ctx context.Context, p plan) {
	rc, ok := e.cfg.Consents.(RequestClaimer)
	if !ok || p.claim.GrantID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	rc.ReleaseRequest(ctx, p.claim)
}

// keep stores the facts each answer brought (keep[i] for out[i]) in one
// transaction, once every answer is in: a result whose facts could not be
// kept shows none.
func (e *Exchanger) keep(ctx context.Context, out []Result, keep []*SealedFacts) {
	var fs []SealedFacts
	var at []int
	for i, f := range keep {
		if f != nil {
			fs, at = append(fs, *f), append(at, i)
		}
	}
	if len(fs) == 0 {
		return
	}
	errs, err := e.cfg.Facts.PutFactsAll(ctx, fs)
	for j, i := range at {
		switch {
		case err != nil || (errs[j] != nil && !errors.Is(errs[j], ErrGrantWithdrawn)):
			out[i].Status, out[i].Reason, out[i].Facts = StatusFailed, "store-unavailable", nil
		case errs[j] != nil:
			// Withdrawn while the request was out: what came back is
			// neither kept nor shown.
			out[i].Status, out[i].Reason, out[i].Facts = StatusDenied, "consent-withdrawn", nil
		}
	}
}

// request is what p asks of its connector for c.
func (e *Exchanger) request(c Citizen, p plan) connectors.Request {
	consentKind := connectors.ConsentYes
	switch law, noopo := p.purpose.onLaw(); {
	case noopo:
		consentKind = connectors.ConsentNoOpo
	case law || p.consent == nil:
		consentKind = connectors.ConsentLaw
	}
	requester := e.cfg.Requester
	requester.Procedure = p.purpose.Procedure
	requester.Officer, requester.CaseID = p.entry.Officer, p.entry.CaseFile
	if requester.OfficerNIF == "" {
		requester.OfficerNIF = requester.ID
	}
	return connectors.Request{
		RequestID: p.entry.RequestID, Category: connectors.Category(p.res.Category), Titular: c.Titular,
		Requester: requester, Purpose: p.purpose.Finalidad, Consent: consentKind, Fields: p.decision.Fields,
		Period: p.entry.Period,
	}
}

// recordAll commits entries in one batch when the recorder can, or one by
// one; it fails if any is not committed.
func (e *Exchanger) recordAll(ctx context.Context, entries []audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if b, ok := e.cfg.Audit.(BatchRecorder); ok {
		return b.RecordAll(ctx, entries)
	}
	for _, entry := range entries {
		if err := e.cfg.Audit.Record(ctx, entry); err != nil {
			return err
		}
	}
	return nil
}

// plan is one category's exchange once decided: the audit entry to commit
// first (an intent, or the record of a refusal), and, for an allowed
// request, what to send. Without a connector the result is final.
type plan struct {
	res      Result
	entry    *audit.Entry
	conn     connectors.Connector
	purpose  Purpose
	grant    consent.Grant
	claim    consent.Claim // against the grant's limit, given back if nothing is sent
	consent  *policy.Consent
	decision policy.Decision
}

// decide asks the guard, with the citizen's grants for purpose by category
// (grantsErr: their lookup failed).
func (e *Exchanger) decide(ctx context.Context, c Citizen, category, purpose string, grants map[string]consent.Grant, grantsErr error) plan {
	conn, ok := e.connector(category)
	if !ok {
		return plan{res: Result{Category: category, Status: StatusFailed, Reason: "no-connector"}}
	}
	d := describe(conn)
	res := Result{Category: category, Source: d.Source, Connector: d.ID}
	p, ok := e.cfg.Purposes[purpose]
	if !ok {
		res.Status, res.Reason = StatusDenied, "purpose-unknown"
		return plan{res: res}
	}

	law, noopo := p.onLaw()
	objected := false
	if noopo {
		var err error
		if e.cfg.Objected == nil {
			err = errors.New("exchange: no objections to ask")
		} else {
			objected, err = e.cfg.Objected(ctx, c.Subject, purpose)
		}
		if err != nil {
			res.Status, res.Reason = StatusFailed, "objections-unavailable"
			return plan{res: res}
		}
	}
	g, found := grants[category]
	var cons *policy.Consent
	switch {
	case law:
		// No consent is asked or used: the guard's law decides.
	case grantsErr != nil:
		res.Status, res.Reason = StatusFailed, "consent-unavailable"
		return plan{res: res}
	case !found:
		// The guard decides and says why; a law may still allow it.
	default:
		cons = &policy.Consent{ID: g.ID, Category: g.Category, Purpose: g.Purpose, Requester: g.Requester,
			Source: g.Source, LegalBasis: g.LegalBasis, Active: true, ExpiresAt: g.ExpiresAt.Unix(),
			MinInterval: int64(g.MinInterval / time.Second), FromYear: int64(g.FromYear), ToYear: int64(g.ToYear)}
	}

	now := e.cfg.Now().UTC()
	// The citizen limited how often the source may be asked under this
	// consent: the guard weighs the last request made under it.
	var lastFetch int64
	if cons != nil && !g.LastRequest.IsZero() {
		lastFetch = g.LastRequest.Unix()
	}
	// The period asked about: the last the citizen's bounds allow.
	var period int
	if cons != nil {
		period = g.Period(now)
	}
	in := policy.Input{
		Subject: c.Subject, LoA: c.LoA, Purpose: purpose, Requester: e.cfg.Requester.ID,
		Connector: d.ID, Category: category, Source: d.Source, RequestedField: d.Fields,
		Consent: cons, Now: now.Unix(), Objected: objected, LastFetch: lastFetch, Period: int64(period),
	}
	if law {
		in.LegalBasis = p.LegalBasis
	}
	dec, derr := e.cfg.Guard.Decide(ctx, in)
	entry := audit.Entry{
		Officer: p.AutomatedAction, CaseFile: CaseFile(p.Procedure, c.Subject, purpose),
		Time: now, Subject: c.Subject, OnBehalfOf: c.OnBehalfOf, Representative: c.Representative, Requester: e.cfg.Requester.ID, Source: d.Source,
		Connector: d.ID, Category: category, Purpose: purpose, Fields: dec.Fields,
		DecisionID: dec.ID, PolicyVersion: dec.PolicyVersion, InputHash: dec.InputHash,
	}
	if cons != nil {
		entry.ConsentID, entry.LegalBasis = cons.ID, cons.LegalBasis
	}
	if law {
		entry.LegalBasis = p.LegalBasis
	}
	if derr != nil || !dec.Allow {
		res.Status, res.Reason = StatusDenied, firstReason(dec.Reasons, derr)
		if cons == nil && derr == nil && !law {
			res.Status = StatusNoConsent
		}
		entry.ID, entry.Kind, entry.Outcome, entry.Error = e.cfg.NewID(), audit.KindExchangeIntent, "denied", res.Reason
		return plan{res: res, entry: &entry}
	}
	// Allowed: the request is claimed against the limit, atomically, so
	// requests racing on any replica send one.
	var claim consent.Claim
	if rc, ok := e.cfg.Consents.(RequestClaimer); ok && cons != nil {
		var claimed bool
		var err error
		claim, claimed, err = rc.ClaimRequest(ctx, g)
		if err != nil || !claimed {
			res.Status, res.Reason = StatusDenied, "too-frequent"
			if err != nil {
				res.Status, res.Reason = StatusFailed, "consent-unavailable"
			}
			entry.ID, entry.Kind, entry.Outcome, entry.Error = e.cfg.NewID(), audit.KindExchangeIntent, "denied", res.Reason
			return plan{res: res, entry: &entry}
		}
	}
	reqID := e.cfg.NewID()
	entry.ID, entry.Kind, entry.Outcome, entry.RequestID = e.cfg.NewID(), audit.KindExchangeIntent, "pending", reqID
	entry.Period = period
	return plan{res: res, entry: &entry, conn: conn, purpose: p, grant: g, claim: claim, consent: cons, decision: dec}
}

// send sends p's prepared request (or reports why it could not be
// prepared), once its intent is committed, and records the outcome. It
// returns the result and, when the answer is to be kept, the sealed facts
// to store before the result is shown (see keep).
func (e *Exchanger) send(ctx context.Context, p plan, ready connectors.Prepared, readyErr error) (Result, *SealedFacts) {
	res, intent := p.res, *p.entry
	start := time.Now()
	facts, ferr := connectors.Facts{}, readyErr
	if ferr == nil {
		facts, ferr = ready.Send(ctx)
	}
	outcome := intent
	outcome.ID, outcome.Kind, outcome.IntentID = e.cfg.NewID(), audit.KindExchangeOutcome, intent.ID
	outcome.LatencyMS = time.Since(start).Milliseconds()
	outcome.Time = e.cfg.Now().UTC()
	if ferr != nil {
		outcome.Outcome, outcome.Error, outcome.SourceState = "error", errorClass(ferr), connectors.StateOf(ferr)
	} else {
		outcome.Outcome = "ok"
	}
	if err := e.cfg.Audit.Record(ctx, outcome); err != nil {
		// Without a committed outcome the facts are neither kept nor shown.
		res.Status, res.Reason = StatusAuditUnavailable, "audit-unavailable"
		return res, nil
	}
	if ferr != nil {
		res.Status, res.Reason = StatusFailed, outcome.Error
		return res, nil
	}
	var under *consent.Grant
	if law, _ := p.purpose.onLaw(); law {
		// Kept for the purpose's retention, under no grant.
		under = &consent.Grant{ExpiresAt: facts.FetchedAt.Add(p.purpose.Retention)}
	} else if p.consent != nil {
		under = &p.grant
	}
	var keep *SealedFacts
	if under != nil {
		if keep = e.seal(intent.Subject, res.Category, intent.Purpose, *under, facts); keep == nil {
			res.Status, res.Reason = StatusFailed, "store-unavailable"
			return res, nil
		}
	}
	res.Status, res.Facts = StatusOK, facts.Values
	return res, keep
}

// seal is f sealed to be kept under g, nil if it does not encode.
func (e *Exchanger) seal(subject, category, purpose string, g consent.Grant, f connectors.Facts) *SealedFacts {
	b, err := json.Marshal(f)
	if err != nil {
		return nil
	}
	// Kept while the grant stands, or less if the citizen said so.
	expires := g.ExpiresAt
	if g.DataLife > 0 && f.FetchedAt.Add(g.DataLife).Before(expires) {
		expires = f.FetchedAt.Add(g.DataLife)
	}
	return &SealedFacts{
		Subject: subject, Category: category, Purpose: purpose, GrantID: g.ID,
		Sealed:    e.cfg.Sealer.Seal(b, factsContext(subject, category)),
		FetchedAt: f.FetchedAt, ExpiresAt: expires,
	}
}

// factsContext binds sealed facts to whom and what they are about. Not to
// the purpose, which is part of their key: facts sealed before they were
// kept per purpose still open, and whichever set a purpose reads, the
// guard releases only the fields the purpose may have.
func factsContext(subject, category string) []byte {
	return []byte("facts/" + subject + "/" + category)
}

func firstReason(reasons []string, err error) string {
	if err != nil {
		return "policy-error"
	}
	if len(reasons) > 0 {
		return reasons[0]
	}
	return "denied"
}

// errorClass names what went wrong without any of the source's detail,
// which may carry personal data.
func errorClass(err error) string {
	// The state a source answered says more than its kind of refusal.
	switch connectors.StateOf(err) {
	case "0226":
		return "source-refused-request"
	case "0301":
		return "source-not-authorised"
	}
	switch {
	case errors.Is(err, connectors.ErrPending):
		return "source-pending"
	case errors.Is(err, connectors.ErrNotFound):
		return "source-not-found"
	case errors.Is(err, connectors.ErrRejected):
		return "source-rejected"
	case errors.Is(err, connectors.ErrBadResponse):
		return "source-bad-response"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, connectors.ErrUnavailable):
		return "source-unavailable"
	default:
		return "source-error"
	}
}
