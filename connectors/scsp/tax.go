package scsp

import (
	"encoding/xml"
	"fmt"
)

// ServiceTax is the SCSP certificate code of the tax service Obert consults
// through Via Oberta: being up to date with tax obligations for grants
// (AEAT), with the income of the last tax year.
const ServiceTax = "AEAT103I"

// NSTax is the namespace of the tax service's specific data, as the
// simulator answers it.
const NSTax = "http://www.aoc.cat/via-oberta/aeat/v1"

// TaxData is the tax service's DatosEspecificos in a response.
type TaxData struct {
	XMLName   xml.Name `xml:"http://www.aoc.cat/via-oberta/aeat/v1 Resultat"`
	Exercici  int      // tax year reported on
	Declarada bool     // an income tax return was filed for it
	Renda     int      // annual income in euros (base imposable general + estalvi)
	AlCorrent bool     // up to date with tax obligations
}

// Values turns the tax answer into canonical facts (schema version 1).
func (t TaxData) Values() (map[string]any, error) {
	if t.Exercici < 2000 || t.Renda < 0 {
		return nil, fmt.Errorf("%w: tax year or income out of range", ErrMalformed)
	}
	return map[string]any{"tax_year": t.Exercici, "income_annual": t.Renda, "tax_compliant": t.AlCorrent,
		"filed_last_year": t.Declarada}, nil
}

// TaxFields are the fields the tax service can release.
var TaxFields = []string{"tax_year", "income_annual", "tax_compliant", "filed_last_year"}

// Tax is the tax service: it answers for the tax year a request names
// (TaxQuery), or for the last one.
var Tax = func() Service {
	s := typed[TaxData](ServiceTax, TaxFields)
	s.Period = askTaxYear
	return s
}()

// TaxQuery is the tax service's specific data in a request for one tax
// year.
type TaxQuery struct {
	XMLName  xml.Name `xml:"http://www.aoc.cat/via-oberta/aeat/v1 Consulta"`
	Exercici int
}

func askTaxYear(year int) ([]byte, error) { return xml.Marshal(TaxQuery{Exercici: year}) }
