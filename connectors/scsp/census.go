package scsp

import (
	"encoding/xml"
	"fmt"
	"time"
)

// ServiceCensus is the SCSP certificate code of the census (padró) service
// Obert consults: residence and cohabitants of one person.
const ServiceCensus = "PADRO_RESIDENT_CONVIVENTS"

// NSCensus is the namespace of the census service's specific data.
const NSCensus = "http://www.aoc.cat/via-oberta/padro/v1"

// CensusData is the census service's DatosEspecificos in a response.
type CensusData struct {
	XMLName  xml.Name `xml:"http://www.aoc.cat/via-oberta/padro/v1 Resultat"`
	Municipi Place
	// Comarca is the county of the municipality (IDESCAT's code), which
	// county councils' aids are decided by. Older answers lack it.
	Comarca       *Place `xml:",omitempty"`
	DataAlta      string // YYYY-MM-DD: registered since
	DataNaixement string // YYYY-MM-DD
	Convivents    struct {
		Total    int `xml:"total,attr"`
		Menors   int `xml:"menors,attr"`
		Majors65 int `xml:"majors65,attr"`
	}
}

// Place is a municipality or a county: its official code and its name.
type Place struct {
	Codi string `xml:"codi,attr"`
	Nom  string `xml:",chardata"`
}

// Values turns the census answer into canonical facts (schema version 1).
func (c CensusData) Values() (map[string]any, error) {
	for _, d := range []string{c.DataAlta, c.DataNaixement} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, fmt.Errorf("%w: census date %q", ErrMalformed, d)
		}
	}
	if c.Convivents.Total < 1 || c.Convivents.Menors < 0 || c.Convivents.Majors65 < 0 ||
		c.Convivents.Menors+c.Convivents.Majors65 > c.Convivents.Total {
		return nil, fmt.Errorf("%w: census household counts", ErrMalformed)
	}
	v := map[string]any{
		"municipality_code":    c.Municipi.Codi,
		"municipality":         c.Municipi.Nom,
		"registered_since":     c.DataAlta,
		"birth_date":           c.DataNaixement,
		"household_size":       c.Convivents.Total,
		"minors_in_household":  c.Convivents.Menors,
		"over_65_in_household": c.Convivents.Majors65,
		"lives_alone":          c.Convivents.Total == 1,
	}
	if c.Comarca != nil {
		v["county_code"], v["county"] = c.Comarca.Codi, c.Comarca.Nom
	}
	return v, nil
}

// CensusFields are the fields the census service can release.
var CensusFields = []string{"municipality_code", "municipality", "county_code", "county", "registered_since", "household_size",
	"minors_in_household", "over_65_in_household", "lives_alone", "birth_date"}

// CensusVerification is the census service's verification: a request's
// specific data names the questions (Pregunta), and the answer carries one
// Resposta for each and nothing else, as the SCSP residence verification
// answers whether a person lives in a territory without saying where.
type CensusVerification struct {
	XMLName   xml.Name   `xml:"http://www.aoc.cat/via-oberta/padro/v1 Verificacio"`
	Preguntes []string   `xml:"Pregunta,omitempty"`
	Respostes []Resposta `xml:"Resposta,omitempty"`
}

// Resposta is the answer to one question.
type Resposta struct {
	Pregunta string `xml:"pregunta,attr"`
	Valor    bool   `xml:",chardata"`
}

func askCensus(fields []string) ([]byte, error) {
	return xml.Marshal(CensusVerification{Preguntes: fields})
}

func censusAnswers(raw []byte) (map[string]any, error) {
	var v CensusVerification
	if err := decodeData(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(v.Respostes) == 0 {
		return nil, fmt.Errorf("%w: a verification without answers", ErrMalformed)
	}
	out := map[string]any{}
	for _, r := range v.Respostes {
		out[r.Pregunta] = r.Valor
	}
	return out, nil
}
