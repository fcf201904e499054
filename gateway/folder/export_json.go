package folder

import (
	"slices"
	"time"

	"github.com/obert-gov/obert/audit"
)

// ExportSchemaVersion is the version of the export's JSON schema
// (docs/export-schema.json); a change of shape is a new version.
const ExportSchemaVersion = 3

// exportDoc is the export as JSON (GDPR Art. 20): names in snake_case,
// lists never null, no placeholder dates, the note in the citizen's
// language. docs/export-schema.json describes it.
type exportDoc struct {
	SchemaVersion int                  `json:"schema_version"`
	GeneratedAt   time.Time            `json:"generated_at"`
	Language      string               `json:"language"`
	Note          string               `json:"note"`
	Identity      ExportIdentity       `json:"identity"`
	Consents      []exportConsent      `json:"consents"`
	Facts         []exportFacts        `json:"facts"`
	Access        []audit.Entry        `json:"access_log"`
	Sessions      []ExportSession      `json:"sessions"`
	Objections    []exportObjection    `json:"objections"`
	Alerts        []ExportSubscription `json:"alert_subscriptions"`
	Documents     []ExportDocument     `json:"documents"`
	Favourites    []ExportFavourite    `json:"favourites"`
	LifeEvents    []ExportLifeEvent    `json:"life_events"`
	Layout        *ExportLayout        `json:"folder_layout,omitempty"`
}

type exportConsent struct {
	ID          string     `json:"id"`
	Category    string     `json:"category"`
	Purpose     string     `json:"purpose"`
	Requester   string     `json:"requester"`
	Source      string     `json:"source"`
	LegalBasis  string     `json:"legal_basis"`
	TextVersion string     `json:"text_version"`
	Language    string     `json:"language"`
	GrantedAt   time.Time  `json:"granted_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	WithdrawnAt *time.Time `json:"withdrawn_at,omitempty"`
}

type exportFacts struct {
	Category  string         `json:"category"`
	Purpose   string         `json:"purpose"`
	Source    string         `json:"source"`
	RequestID string         `json:"request_id"`
	FetchedAt time.Time      `json:"fetched_at"`
	Values    map[string]any `json:"values"`
}

type exportObjection struct {
	To    string    `json:"to"`
	Since time.Time `json:"since"`
}

// nonNil is s, or an empty list instead of nil.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func exportDocOf(x Export, lang, note string) exportDoc {
	d := exportDoc{SchemaVersion: ExportSchemaVersion, GeneratedAt: x.GeneratedAt, Language: lang, Note: note, Identity: x.Identity,
		Access: nonNil(x.Access), Sessions: nonNil(x.Sessions), Alerts: nonNil(x.Alerts), Documents: nonNil(x.Documents),
		Consents: []exportConsent{}, Facts: []exportFacts{}, Objections: []exportObjection{},
		Favourites: nonNil(x.Favourites), LifeEvents: nonNil(x.LifeEvents)}
	if x.Layout != nil {
		l := *x.Layout
		l.Sections, l.Hidden = nonNil(l.Sections), nonNil(l.Hidden)
		d.Layout = &l
	}
	for _, g := range x.Consents {
		c := exportConsent{ID: g.ID, Category: g.Category, Purpose: g.Purpose, Requester: g.Requester, Source: g.Source,
			LegalBasis: g.LegalBasis, TextVersion: g.TextVersion, Language: g.Language, GrantedAt: g.GrantedAt, ExpiresAt: g.ExpiresAt}
		if !g.WithdrawnAt.IsZero() {
			at := g.WithdrawnAt
			c.WithdrawnAt = &at
		}
		d.Consents = append(d.Consents, c)
	}
	for _, f := range x.Facts {
		values := f.Values
		if values == nil {
			values = map[string]any{}
		}
		d.Facts = append(d.Facts, exportFacts{Category: string(f.Category), Purpose: f.Purpose, Source: f.Source, RequestID: f.RequestID,
			FetchedAt: f.FetchedAt, Values: values})
	}
	for to, since := range x.Objections {
		d.Objections = append(d.Objections, exportObjection{To: to, Since: since})
	}
	slices.SortFunc(d.Objections, func(a, b exportObjection) int { return a.Since.Compare(b.Since) })
	for i := range d.Documents {
		d.Documents[i].Fields = nonNil(d.Documents[i].Fields)
	}
	return d
}
