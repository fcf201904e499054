package scsp

import (
	"encoding/xml"
	"fmt"
	"regexp"
)

// ServiceRepresentation is the SCSP certificate code of the register of
// representations (AOC's RERE, like the state's REA): the companies a
// person may act for, and with which powers.
const ServiceRepresentation = "RERE_REPRESENTACIONS"

// NSRepresentation is the namespace of its specific data.
const NSRepresentation = "http://www.aoc.cat/via-oberta/rere/v1"

// RepresentationData is the register's DatosEspecificos: one element per
// company the person represents.
type RepresentationData struct {
	XMLName         xml.Name        `xml:"http://www.aoc.cat/via-oberta/rere/v1 Resultat"`
	Representacions []Representacio `xml:"Representacio"`
}

// Representacio is one company and the powers held for it.
type Representacio struct {
	NIF    string `xml:"nif,attr"`
	Poders string `xml:"poders,attr"` // "general" | "tax"
	Nom    string `xml:",chardata"`
}

var cif = regexp.MustCompile(`^[ABCDEFGHJNPQRSUVW][0-9]{7}[0-9A-J]$`)

// Values turns the register's answer into canonical facts: "companies", a
// list of {nif, name, powers}.
func (d RepresentationData) Values() (map[string]any, error) {
	companies := []any{}
	for _, r := range d.Representacions {
		if !cif.MatchString(r.NIF) || r.Nom == "" || (r.Poders != "general" && r.Poders != "tax") {
			return nil, fmt.Errorf("%w: representation %q", ErrMalformed, r.NIF)
		}
		companies = append(companies, map[string]any{"nif": r.NIF, "name": r.Nom, "powers": r.Poders})
	}
	return map[string]any{"companies": companies}, nil
}

// RepresentationFields are the fields the register can release.
var RepresentationFields = []string{"companies"}

// Representation is the register of representations.
var Representation = typed[RepresentationData](ServiceRepresentation, RepresentationFields)

// ServiceCompany is the SCSP certificate code of the tax agency's
// certificate of a legal person being up to date with its tax obligations.
const ServiceCompany = "AEAT_CORRIENT_PJ"

// NSCompany is the namespace of its specific data.
const NSCompany = "http://www.aoc.cat/via-oberta/aeat-pj/v1"

// CompanyData is the company certificate's DatosEspecificos.
type CompanyData struct {
	XMLName   xml.Name `xml:"http://www.aoc.cat/via-oberta/aeat-pj/v1 Resultat"`
	RaoSocial string   // the company's registered name
	AlCorrent bool     // up to date with tax obligations
}

// Values turns the certificate into canonical facts.
func (d CompanyData) Values() (map[string]any, error) {
	if d.RaoSocial == "" {
		return nil, fmt.Errorf("%w: company without a name", ErrMalformed)
	}
	return map[string]any{"company_name": d.RaoSocial, "tax_compliant": d.AlCorrent}, nil
}

// CompanyFields are the fields the company certificate can release.
var CompanyFields = []string{"company_name", "tax_compliant"}

// Company is the company certificate service.
var Company = typed[CompanyData](ServiceCompany, CompanyFields)
