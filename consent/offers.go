package consent

import (
	"embed"
	"encoding/json"
	"fmt"
	"time"
)

// Offer is what a citizen can consent to: one category, for one purpose,
// asked by one administration from another, with the plain-language text
// shown before granting. Offers are versioned data, not code: a new text is a
// new TextVersion, and grants record the version the citizen saw.
type Offer struct {
	Category    string               `json:"category"`
	Purpose     string               `json:"purpose"`
	Requester   string               `json:"requester"`
	Source      string               `json:"source"`
	Fields      []string             `json:"fields"`
	Retention   Duration             `json:"retention"`
	TextVersion string               `json:"text_version"`
	Texts       map[string]OfferText `json:"texts"` // by language: ca, es, en
	// Holder is whose data it is: a person (empty) or a company, whose
	// offers only those acting for it see.
	Holder string `json:"holder,omitempty"`
	// Periods names the periods the source answers for, when it has any
	// ("year": tax years): the citizen may bound which are asked.
	Periods string `json:"periods,omitempty"`
}

// PeriodYear is an offer whose source answers for tax years.
const PeriodYear = "year"

// HolderCompany is the holder of a company's offers.
const HolderCompany = "company"

// OfferText answers, in one language, the questions a citizen asks before
// saying yes.
type OfferText struct {
	Title     string `json:"title"`
	What      string `json:"what"`      // what data
	From      string `json:"from"`      // from whom
	Why       string `json:"why"`       // for what
	HowLong   string `json:"how_long"`  // for how long
	WhoElse   string `json:"who_else"`  // who else sees it
	IfNo      string `json:"if_no"`     // what happens if I say no
	Requester string `json:"requester"` // requesting administration's name
	Source    string `json:"source"`    // source administration's name
}

// Duration is a time.Duration written as "720h" in JSON.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

//go:embed offers.json
var offersFS embed.FS

// Languages every offer text must exist in.
var Languages = []string{"ca", "es", "en"}

// DefaultOffers returns the offers shipped with Obert.
func DefaultOffers() ([]Offer, error) {
	b, err := offersFS.ReadFile("offers.json")
	if err != nil {
		return nil, err
	}
	var offers []Offer
	if err := json.Unmarshal(b, &offers); err != nil {
		return nil, fmt.Errorf("consent: offers.json: %w", err)
	}
	for _, o := range offers {
		if err := o.validate(); err != nil {
			return nil, err
		}
	}
	return offers, nil
}

// Validate checks an offer is complete: who, what, for how long, and the
// texts in every language.
func (o Offer) Validate() error { return o.validate() }

func (o Offer) validate() error {
	if o.Category == "" || o.Purpose == "" || o.Requester == "" || o.Source == "" || o.TextVersion == "" {
		return fmt.Errorf("consent: offer %s/%s: missing category, purpose, requester, source or text version", o.Category, o.Purpose)
	}
	if o.Retention <= 0 {
		return fmt.Errorf("consent: offer %s/%s: retention must be positive", o.Category, o.Purpose)
	}
	for _, l := range Languages {
		t, ok := o.Texts[l]
		if !ok || t.Title == "" || t.What == "" || t.From == "" || t.Why == "" || t.HowLong == "" || t.WhoElse == "" ||
			t.IfNo == "" || t.Requester == "" || t.Source == "" {
			return fmt.Errorf("consent: offer %s/%s: text in %q incomplete", o.Category, o.Purpose, l)
		}
	}
	return nil
}
