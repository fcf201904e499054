package documents

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/obert-gov/obert/audit"
)

// Type is a kind of document.
type Type string

// The documents Obert issues, each from one category of facts.
const (
	Census      Type = "census-certificate"
	Tax         Type = "tax-certificate"
	WorkingLife Type = "working-life-report"
	// Residence states only whether the census has the person registered
	// in Catalonia: it is made from a minimised answer, asked for it alone.
	Residence Type = "residence-certificate"
)

// Types are the documents in the order they are offered.
var Types = []Type{Census, Residence, Tax, WorkingLife}

// Audit entry kinds.
const (
	KindIssue  = "document.issue"
	KindVerify = "document.verify"
	KindRevoke = "document.revoke"
)

// spec says which category a document is made from, the facts of which
// purpose, and which of its fields it shows, in order; a field the facts
// lack is left out, and the document needs at least its first field.
var specs = map[Type]struct {
	category, purpose string
	fields            []string
}{
	Census:      {"census", recommendations, []string{"municipality", "address", "registered_since", "household_size", "minors_in_household", "over_65_in_household"}},
	Residence:   {"census", "residence-certificate", []string{"resident_in_catalonia"}},
	Tax:         {"tax", recommendations, []string{"tax_compliant", "tax_year", "filed_last_year"}},
	WorkingLife: {"employment", recommendations, []string{"employed", "months_worked_last_5y", "unemployed_since", "receives_unemployment_benefit"}},
}

const recommendations = "aid-recommendation"

// Category is the category of facts a document is made from.
func (t Type) Category() string { return specs[t].category }

// Purpose is the purpose whose facts a document is made from: the
// recommendations', or one of the document's own that asks for it alone.
func (t Type) Purpose() string { return specs[t].purpose }

// OwnPurpose reports whether the document is made from facts asked for
// it alone, under a consent of its own.
func (t Type) OwnPurpose() bool { return t.Valid() && specs[t].purpose != recommendations }

// Valid reports whether t is a document Obert issues.
func (t Type) Valid() bool { _, ok := specs[t]; return ok }

// Errors.
var (
	ErrNotFound       = errors.New("documents: no such document")
	ErrAlreadyExists  = errors.New("documents: the code is already in use")
	ErrMalformed      = errors.New("documents: malformed verification code")
	ErrExpired        = errors.New("documents: the document has expired")
	ErrRevoked        = errors.New("documents: the document was revoked")
	ErrAlreadyRevoked = errors.New("documents: the document was already revoked")
	ErrNoData         = errors.New("documents: the facts this document needs are not available")
	ErrUnknownType    = errors.New("documents: unknown document type")
)

// Field is one line of a document's data: a field name of the catalogue
// and its value as the source gave it (string, number or bool).
type Field struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Holder is whom a document is about, as printed on it.
type Holder struct {
	Name     string `json:"name"`
	Document string `json:"document"` // masked: only some digits show
}

// Document is an issued document.
type Document struct {
	CSV        string
	Subject    string
	Type       Type
	IssuedAt   time.Time
	ValidUntil time.Time
	RevokedAt  time.Time // zero while in force
	Holder     Holder
	Fields     []Field
	Share      *Share // set for a document made to be shared
}

// Revoked reports whether the document was revoked.
func (d Document) Revoked() bool { return !d.RevokedAt.IsZero() }

// Stored is a document as the store keeps it: its content sealed.
type Stored struct {
	CSV        string
	Subject    string
	Type       string
	IssuedAt   time.Time
	ValidUntil time.Time
	RevokedAt  time.Time
	Sealed     []byte
}

// Store keeps issued documents.
type Store interface {
	// PutDocument stores a new document; ErrAlreadyExists if its CSV is taken.
	PutDocument(ctx context.Context, d Stored) error
	// GetDocument returns the document with this CSV, or ErrNotFound.
	GetDocument(ctx context.Context, csv string) (Stored, error)
	// DocumentsOf lists the subject's documents, newest first.
	DocumentsOf(ctx context.Context, subject string) ([]Stored, error)
	// RevokeDocument stamps the subject's document revoked at at, once:
	// ErrNotFound if it is not theirs, ErrAlreadyRevoked the second time.
	RevokeDocument(ctx context.Context, subject, csv string, at time.Time) (Stored, error)
}

// Sealer seals a document's content bound to its row.
type Sealer interface {
	Seal(plaintext, context []byte) []byte
	Open(sealed, context []byte) ([]byte, error)
}

// Recorder commits audit entries (filling in their id and time).
type Recorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// Config builds a Service.
type Config struct {
	Store    Store
	Sealer   Sealer
	Audit    Recorder
	Signer   *rsa.PrivateKey
	Cert     *x509.Certificate
	Issuer   string // the body that issues the documents, printed on them
	Verify   string // the public verification address, "https://…/verify"
	Validity time.Duration
	Labels   Labels
	Now      func() time.Time
	Logger   *slog.Logger
}

// Labels translates a catalogue key into a language, for the PDF.
type Labels func(lang, key string, args ...any) string

// Service issues, verifies and revokes documents.
type Service struct{ cfg Config }

// New checks the configuration.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Sealer == nil || cfg.Audit == nil || cfg.Signer == nil || cfg.Cert == nil || cfg.Labels == nil {
		return nil, errors.New("documents: store, sealer, audit, key, certificate and labels are required")
	}
	if !cfg.Signer.PublicKey.Equal(cfg.Cert.PublicKey) {
		return nil, errors.New("documents: the certificate is not the document key's")
	}
	if cfg.Verify == "" || cfg.Issuer == "" {
		return nil, errors.New("documents: the issuer and the verification address are required")
	}
	if cfg.Validity <= 0 {
		cfg.Validity = 90 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}, nil
}

// csvLen is the length of a CSV: 20 characters of base32, 100 bits.
const csvLen = 20

// NewCSV returns a fresh, unguessable verification code.
func NewCSV() string { return rand.Text()[:csvLen] }

// WellFormed reports whether s could be a CSV (upper case is what is
// printed; a code typed in lower case is accepted by Normalize).
func WellFormed(s string) bool {
	if len(s) != csvLen {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Normalize turns a typed code into the printed form: upper case, without
// spaces or dashes.
func Normalize(s string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s)))
}

// Available lists the documents the facts allow, in offering order.
func Available(facts map[string]map[string]any) []Type {
	var out []Type
	for _, t := range Types {
		if _, err := fieldsOf(t, facts); err == nil {
			out = append(out, t)
		}
	}
	return out
}

func fieldsOf(t Type, facts map[string]map[string]any) ([]Field, error) {
	s, ok := specs[t]
	if !ok {
		return nil, ErrUnknownType
	}
	f := facts[s.category]
	if _, ok := f[s.fields[0]]; !ok {
		return nil, ErrNoData
	}
	var out []Field
	for _, name := range s.fields {
		if v, ok := f[name]; ok && v != nil && v != "" {
			out = append(out, Field{Name: name, Value: v})
		}
	}
	return out, nil
}

// content is what is sealed: what the document shows.
type content struct {
	Holder Holder  `json:"holder"`
	Fields []Field `json:"fields"`
	Share  *Share  `json:"share,omitempty"`
}

// Share says to whom and for what a citizen gave a document made from one
// of theirs with only some of its fields.
type Share struct {
	From      string `json:"from"`      // the CSV of the document it was made from
	Recipient string `json:"recipient"` // the administration's id in the register
	Purpose   string `json:"purpose"`   // in the citizen's words
}

// KindShare is the audit kind of a share.
const KindShare = "document.share"

func sealContext(csv, subject string, t Type) []byte {
	return []byte("obert document v1\x00" + csv + "\x00" + subject + "\x00" + string(t))
}

// Issue makes a document of type t for subject from the facts released to
// them. It is recorded before it is stored: a document whose issue cannot
// be recorded does not exist.
func (s *Service) Issue(ctx context.Context, subject string, h Holder, t Type, facts map[string]map[string]any) (Document, error) {
	fields, err := fieldsOf(t, facts)
	if err != nil {
		return Document{}, err
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	d := Document{CSV: NewCSV(), Subject: subject, Type: t, IssuedAt: now, ValidUntil: now.Add(s.cfg.Validity),
		Holder: h, Fields: fields}
	plain, err := json.Marshal(content{Holder: h, Fields: fields})
	if err != nil {
		return Document{}, err
	}
	if err := s.cfg.Audit.Record(ctx, s.entry(KindIssue, d)); err != nil {
		return Document{}, fmt.Errorf("documents: issue not recorded: %w", err)
	}
	st := Stored{CSV: d.CSV, Subject: subject, Type: string(t), IssuedAt: d.IssuedAt, ValidUntil: d.ValidUntil,
		Sealed: s.cfg.Sealer.Seal(plain, sealContext(d.CSV, subject, t))}
	if err := s.cfg.Store.PutDocument(ctx, st); err != nil {
		return Document{}, err
	}
	return d, nil
}

func (s *Service) entry(kind string, d Document) audit.Entry {
	var names []string
	for _, f := range d.Fields {
		names = append(names, f.Name)
	}
	e := audit.Entry{Kind: kind, Subject: d.Subject, Requester: s.cfg.Issuer, Category: d.Type.Category(),
		Purpose: string(d.Type), Fields: names, RequestID: d.CSV, Outcome: "ok"}
	if d.Share != nil {
		// A shared document's entries name whom it was given to, and why.
		e.Requester, e.Purpose = d.Share.Recipient, d.Share.Purpose
	}
	return e
}

// Errors of shares.
var (
	ErrShareFields  = errors.New("documents: a share needs at least one of the document's fields, and only those")
	ErrShareUntil   = errors.New("documents: a share ends after today and no later than its document")
	ErrSharePurpose = errors.New("documents: a share needs its purpose, in 1 to 200 characters")
	ErrShareOfShare = errors.New("documents: a shared document cannot be shared again")
)

// ShareRequest is what a citizen asks to share: which of their documents,
// which of its fields, with whom, for what and until when.
type ShareRequest struct {
	From      string
	Fields    []string
	Recipient string
	Purpose   string
	Until     time.Time
}

// Share makes, from one of the subject's documents in force, a document of
// its own with only the fields asked for, for the recipient and purpose,
// valid until r.Until (no later than the original): its own code, which
// the recipient verifies, and which the citizen revokes on its own. The
// share is recorded before it exists.
func (s *Service) Share(ctx context.Context, subject string, r ShareRequest) (Document, error) {
	from, err := s.Get(ctx, subject, r.From)
	if err != nil {
		return Document{}, err
	}
	now := s.cfg.Now().UTC().Truncate(time.Second)
	switch {
	case from.Share != nil:
		return Document{}, ErrShareOfShare
	case from.Revoked():
		return Document{}, ErrRevoked
	case !now.Before(from.ValidUntil):
		return Document{}, ErrExpired
	case !r.Until.After(now) || r.Until.After(from.ValidUntil):
		return Document{}, ErrShareUntil
	}
	if p := strings.TrimSpace(r.Purpose); p == "" || utf8.RuneCountInString(p) > 200 || strings.ContainsFunc(p, unicode.IsControl) {
		return Document{}, ErrSharePurpose
	}
	var fields []Field
	for _, f := range from.Fields {
		if slices.Contains(r.Fields, f.Name) {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 || len(fields) != len(r.Fields) {
		return Document{}, ErrShareFields
	}
	d := Document{CSV: NewCSV(), Subject: subject, Type: from.Type, IssuedAt: now, ValidUntil: r.Until.UTC().Truncate(time.Second),
		Holder: from.Holder, Fields: fields, Share: &Share{From: from.CSV, Recipient: r.Recipient, Purpose: strings.TrimSpace(r.Purpose)}}
	plain, err := json.Marshal(content{Holder: d.Holder, Fields: fields, Share: d.Share})
	if err != nil {
		return Document{}, err
	}
	if err := s.cfg.Audit.Record(ctx, s.entry(KindShare, d)); err != nil {
		return Document{}, fmt.Errorf("documents: share not recorded: %w", err)
	}
	st := Stored{CSV: d.CSV, Subject: subject, Type: string(d.Type), IssuedAt: d.IssuedAt, ValidUntil: d.ValidUntil,
		Sealed: s.cfg.Sealer.Seal(plain, sealContext(d.CSV, subject, d.Type))}
	if err := s.cfg.Store.PutDocument(ctx, st); err != nil {
		return Document{}, err
	}
	return d, nil
}

func (s *Service) open(st Stored) (Document, error) {
	t := Type(st.Type)
	plain, err := s.cfg.Sealer.Open(st.Sealed, sealContext(st.CSV, st.Subject, t))
	if err != nil {
		return Document{}, fmt.Errorf("documents: open %s: %w", st.Type, err)
	}
	var c content
	if err := json.Unmarshal(plain, &c); err != nil {
		return Document{}, err
	}
	return Document{CSV: st.CSV, Subject: st.Subject, Type: t, IssuedAt: st.IssuedAt, ValidUntil: st.ValidUntil,
		RevokedAt: st.RevokedAt, Holder: c.Holder, Fields: c.Fields, Share: c.Share}, nil
}

// Of lists the subject's documents, newest first.
func (s *Service) Of(ctx context.Context, subject string) ([]Document, error) {
	sts, err := s.cfg.Store.DocumentsOf(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]Document, 0, len(sts))
	for _, st := range sts {
		d, err := s.open(st)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Get returns the subject's own document (ErrNotFound for anyone else's).
func (s *Service) Get(ctx context.Context, subject, csv string) (Document, error) {
	if !WellFormed(csv) {
		return Document{}, ErrNotFound
	}
	st, err := s.cfg.Store.GetDocument(ctx, csv)
	if err != nil {
		return Document{}, err
	}
	if st.Subject != subject {
		return Document{}, ErrNotFound
	}
	return s.open(st)
}

// Verify looks a code up for anyone. It returns the document with
// ErrExpired or ErrRevoked when it is no longer in force, ErrMalformed or
// ErrNotFound when there is none. A verification of an existing document
// is recorded under its subject, with nothing about who asked; one that
// cannot be recorded shows nothing.
func (s *Service) Verify(ctx context.Context, code string) (Document, error) {
	code = Normalize(code)
	if !WellFormed(code) {
		return Document{}, ErrMalformed
	}
	st, err := s.cfg.Store.GetDocument(ctx, code)
	if err != nil {
		return Document{}, err
	}
	d, err := s.open(st)
	if err != nil {
		return Document{}, err
	}
	e := s.entry(KindVerify, d)
	switch {
	case d.Revoked():
		e.Outcome, err = "revoked", ErrRevoked
	case !s.cfg.Now().Before(d.ValidUntil):
		e.Outcome, err = "expired", ErrExpired
	}
	if rerr := s.cfg.Audit.Record(ctx, e); rerr != nil {
		return Document{}, fmt.Errorf("documents: verification not recorded: %w", rerr)
	}
	return d, err
}

// Revoke revokes the subject's document. The revocation takes effect
// first, then it is recorded; a failure to record it is logged, since
// undoing a revocation would be worse.
func (s *Service) Revoke(ctx context.Context, subject, csv string) (Document, error) {
	if !WellFormed(csv) {
		return Document{}, ErrNotFound
	}
	st, err := s.cfg.Store.RevokeDocument(ctx, subject, csv, s.cfg.Now().UTC())
	if err != nil {
		return Document{}, err
	}
	d, err := s.open(st)
	if err != nil {
		return Document{}, err
	}
	if err := s.cfg.Audit.Record(ctx, s.entry(KindRevoke, d)); err != nil {
		s.cfg.Logger.Error("document revocation not recorded", "err", err)
	}
	return d, nil
}

// MaskDocument shows a document number as Spanish offices print it on
// what others may see: only four digits of the middle.
func MaskDocument(n string) string {
	r := []rune(n)
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	out := slices.Repeat([]rune{'*'}, len(r))
	copy(out[len(r)-6:len(r)-2], r[len(r)-6:len(r)-2])
	return string(out)
}
