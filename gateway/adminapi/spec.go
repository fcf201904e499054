package adminapi

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/obert-gov/obert/connectors/scsp"
	"github.com/obert-gov/obert/consent"
)

// Spec is a connector registration: the SCSP service an administration
// offers through Via Oberta, the facts it yields, and what citizens are told
// when they are asked to consent to it.
type Spec struct {
	// Kind is what the connector gives: data of a category (the default,
	// over SCSP), or the citizens' own dealings — "applications" (as e-TRAM
	// shows them) or "notifications" (as e-NOTUM delivers them) — read on
	// the legal basis of the citizen's own request, over signed requests.
	Kind        string                       `json:"kind,omitempty"`
	ID          string                       `json:"id"`
	Category    string                       `json:"category"`
	Source      string                       `json:"source"` // source administration code
	ServiceCode string                       `json:"service_code"`
	Endpoint    string                       `json:"endpoint"`
	Certificate string                       `json:"certificate"` // PEM: the certificate its answers are signed with
	Namespace   string                       `json:"namespace,omitempty"`
	Fields      []scsp.FieldSpec             `json:"fields"`
	Purposes    []string                     `json:"purposes"`
	LegalBases  []string                     `json:"legal_bases"`
	MinLoA      string                       `json:"min_loa"`
	Retention   string                       `json:"retention"` // e.g. "720h"
	Texts       map[string]consent.OfferText `json:"texts"`     // ca, es, en
	Sandbox     SandboxTitular               `json:"sandbox"`
}

// SandboxTitular is the test person the registration's test call asks for.
type SandboxTitular struct {
	DocType   string `json:"doc_type"`
	DocNumber string `json:"doc_number"`
}

var (
	idRe       = regexp.MustCompile(`^[a-z][a-z0-9-]{2,62}$`)
	categoryRe = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)
	codeRe     = regexp.MustCompile(`^[A-Z0-9_]{3,64}$`)
)

// Rules are what a registration is validated against.
type Rules struct {
	Purposes   []string // known purposes
	LegalBases []string // legal bases a connector may declare
	// Bases are the legal basis each purpose runs on: consent, or a law
	// (the consent basis when absent). A registration declares, for each
	// of its purposes, that purpose's basis, and no other.
	Bases    map[string]string
	Reserved []string // categories the gateway's own connectors serve
	// ReservedSources are Obert's own activity sources' codes.
	ReservedSources []string
	Requester       string    // the administration Obert consults on behalf of
	AllowPlainHTTP  bool      // dev mode only: http:// endpoints on loopback
	Now             time.Time // for certificate validity
}

// BasisOf is the legal basis purpose runs on.
func (r Rules) BasisOf(purpose string) string {
	if b := r.Bases[purpose]; b != "" {
		return b
	}
	return consent.BasisConsent
}

// Problem is one invalid part of a registration.
type Problem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// Kinds of connectors.
const (
	KindData          = "data"
	KindApplications  = "applications"
	KindNotifications = "notifications"
)

// Activity reports whether s registers an activity source (applications
// or notifications) rather than data of a category.
func (s Spec) Activity() bool { return s.Kind == KindApplications || s.Kind == KindNotifications }

// Validate returns every problem of s, or nil.
func (s Spec) Validate(r Rules) []Problem {
	if s.Activity() {
		return s.validateActivity(r)
	}
	var ps []Problem
	bad := func(field, format string, a ...any) { ps = append(ps, Problem{field, fmt.Sprintf(format, a...)}) }
	if s.Kind != "" && s.Kind != KindData {
		bad("kind", "data, applications or notifications")
	}
	if !idRe.MatchString(s.ID) {
		bad("id", "3 to 63 lower-case letters, digits and -, starting with a letter")
	}
	switch {
	case !categoryRe.MatchString(s.Category):
		bad("category", "2 to 32 lower-case letters, digits and _")
	case slices.Contains(r.Reserved, s.Category):
		bad("category", "%q is served by Obert's own connector", s.Category)
	}
	if !categoryRe.MatchString(strings.ReplaceAll(s.Source, "-", "_")) {
		bad("source", "an administration code: lower-case letters, digits, - and _")
	}
	if !codeRe.MatchString(s.ServiceCode) {
		bad("service_code", "the SCSP CodigoCertificado: upper-case letters, digits and _")
	}
	s.validateEndpoint(r, bad)
	if _, err := scsp.GenericService(s.ServiceCode, s.Namespace, s.Fields); err != nil {
		bad("fields", "%v", strings.TrimPrefix(err.Error(), "scsp: "))
	}
	if len(s.Purposes) == 0 {
		bad("purposes", "at least one purpose")
	}
	for _, p := range s.Purposes {
		if !slices.Contains(r.Purposes, p) {
			bad("purposes", "unknown purpose %q (known: %s)", p, strings.Join(r.Purposes, ", "))
		}
	}
	if len(s.LegalBases) == 0 {
		bad("legal_bases", "at least one legal basis")
	}
	for _, b := range s.LegalBases {
		if !slices.Contains(r.LegalBases, b) {
			bad("legal_bases", "legal basis %q is not one this gateway can rely on (%s)", b, strings.Join(r.LegalBases, ", "))
		} else if !slices.ContainsFunc(s.Purposes, func(p string) bool { return r.BasisOf(p) == b }) {
			bad("legal_bases", "legal basis %q is the basis of none of the purposes", b)
		}
	}
	for _, p := range s.Purposes {
		if b := r.BasisOf(p); slices.Contains(r.Purposes, p) && !slices.Contains(s.LegalBases, b) {
			bad("legal_bases", "purpose %q runs on %q: declare it", p, b)
		}
	}
	switch s.MinLoA {
	case "low", "substantial", "high":
	default:
		bad("min_loa", "low, substantial or high")
	}
	if d, err := time.ParseDuration(s.Retention); err != nil || d < time.Hour || d > 366*24*time.Hour {
		bad("retention", "a duration between 1h and 8784h")
	}
	for _, p := range s.Offers(r.Requester) {
		if err := p.Validate(); err != nil {
			bad("texts", "%v", strings.TrimPrefix(err.Error(), "consent: "))
			break
		}
	}
	// What citizens read is bounded and plain: their pages show it.
	for _, l := range consent.Languages {
		t := s.Texts[l]
		for _, f := range []struct {
			name, v string
			max     int
		}{{"title", t.Title, 120}, {"requester", t.Requester, 200}, {"source", t.Source, 200}, {"what", t.What, 1000},
			{"from", t.From, 1000}, {"why", t.Why, 1000}, {"how_long", t.HowLong, 1000}, {"who_else", t.WhoElse, 1000}, {"if_no", t.IfNo, 1000}} {
			if msg := plainText(f.v, f.max); msg != "" {
				bad("texts."+l+"."+f.name, "%s", msg)
			}
		}
	}
	for _, f := range s.Fields {
		for _, l := range consent.Languages {
			if msg := plainText(f.Labels[l], 100); msg != "" || strings.TrimSpace(f.Labels[l]) == "" {
				bad("fields."+f.Name+".labels."+l, "the field's name for citizens, 1 to 100 characters of plain text")
			}
		}
		for l := range f.Labels {
			if !slices.Contains(consent.Languages, l) {
				bad("fields."+f.Name+".labels", "languages are %s", strings.Join(consent.Languages, ", "))
			}
		}
	}
	if s.Sandbox.DocNumber == "" || (s.Sandbox.DocType != "NIF" && s.Sandbox.DocType != "NIE") {
		bad("sandbox", "a test person (doc_type NIF or NIE, doc_number) for the test call")
	}
	return ps
}

// Service is the SCSP service the registration describes.
func (s Spec) Service() (scsp.Service, error) {
	return scsp.GenericService(s.ServiceCode, s.Namespace, s.Fields)
}

// Offers are the consent offers of the registration, one per purpose.
func (s Spec) Offers(requester string) []consent.Offer {
	d, _ := time.ParseDuration(s.Retention)
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	var out []consent.Offer
	for _, p := range s.Purposes {
		out = append(out, consent.Offer{Category: s.Category, Purpose: p, Requester: requester, Source: s.Source,
			Fields: names, Retention: consent.Duration(d), TextVersion: s.ID + "-" + s.Category + "-" + p + "-" + textHash(s.Texts),
			Texts: s.Texts})
	}
	return out
}

func textHash(t map[string]consent.OfferText) string {
	b, _ := json.Marshal(t)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:4])
}

// Cert returns the registration's certificate.
func (s Spec) Cert() (*x509.Certificate, error) {
	blk, _ := pem.Decode([]byte(s.Certificate))
	if blk == nil {
		return nil, fmt.Errorf("adminapi: no certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// plainText says what is wrong with a text citizens will read: too long (in
// characters), or holding control or bidirectional-override characters;
// "" when it is fine.
func plainText(v string, max int) string {
	if n := utf8.RuneCountInString(v); n > max {
		return fmt.Sprintf("at most %d characters (has %d)", max, n)
	}
	for _, r := range v {
		if unicode.IsControl(r) || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return "plain text: no control or direction-override characters"
		}
	}
	return ""
}

// validateActivity checks an activity source: who it is, where, its
// certificate, what citizens read of it, and the sandbox person; it
// carries no category, fields, purposes or consent texts, since a citizen
// reads their own dealings on the basis of their own request.
func (s Spec) validateActivity(r Rules) []Problem {
	var ps []Problem
	bad := func(field, format string, a ...any) { ps = append(ps, Problem{field, fmt.Sprintf(format, a...)}) }
	if !idRe.MatchString(s.ID) {
		bad("id", "3 to 63 lower-case letters, digits and -, starting with a letter")
	}
	if !categoryRe.MatchString(strings.ReplaceAll(s.Source, "-", "_")) {
		bad("source", "an administration code: lower-case letters, digits, - and _")
	}
	if slices.Contains(r.ReservedSources, s.Source) {
		bad("source", "%q is one of Obert's own activity sources", s.Source)
	}
	s.validateEndpoint(r, bad)
	if s.Category != "" || s.ServiceCode != "" || len(s.Fields) > 0 || len(s.Purposes) > 0 || len(s.LegalBases) > 0 || s.Retention != "" {
		bad("kind", "an activity source has no category, service code, fields, purposes, legal bases or retention")
	}
	for _, l := range consent.Languages {
		name := s.Texts[l].Source
		if strings.TrimSpace(name) == "" {
			bad("texts."+l+".source", "the administration's name, as citizens read it")
		} else if msg := plainText(name, 200); msg != "" {
			bad("texts."+l+".source", "%s", msg)
		}
	}
	if s.Sandbox.DocNumber == "" || (s.Sandbox.DocType != "NIF" && s.Sandbox.DocType != "NIE") {
		bad("sandbox", "a test person (doc_type NIF or NIE, doc_number) for the test call")
	}
	return ps
}

// validateEndpoint checks where a registration is reached and the
// certificate its answers are signed with, for every kind.
func (s Spec) validateEndpoint(r Rules, bad func(field, format string, a ...any)) {
	if u, err := url.Parse(s.Endpoint); err != nil || u.Host == "" {
		bad("endpoint", "not a URL")
	} else if u.Scheme != "https" {
		host := u.Hostname()
		ip := net.ParseIP(host)
		if !(r.AllowPlainHTTP && u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback()))) {
			bad("endpoint", "must be https://")
		}
	}
	if blk, _ := pem.Decode([]byte(s.Certificate)); blk == nil || blk.Type != "CERTIFICATE" {
		bad("certificate", "a PEM certificate is required")
	} else if c, err := x509.ParseCertificate(blk.Bytes); err != nil {
		bad("certificate", "does not parse: %v", err)
	} else if r.Now.Before(c.NotBefore) || r.Now.After(c.NotAfter) {
		bad("certificate", "not valid now (valid %s to %s)", c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly))
	}
}
