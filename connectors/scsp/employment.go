package scsp

import (
	"encoding/xml"
	"fmt"
	"time"
)

// ServiceEmployment is the SCSP certificate code of the working-life
// service (TGSS vida laboral) Obert consults through Via Oberta.
const ServiceEmployment = "TGSS_VIDA_LABORAL"

// NSEmployment is the namespace of the working-life service's specific data,
// as the simulator answers it.
const NSEmployment = "http://www.aoc.cat/via-oberta/tgss/v1"

// EmploymentData is the working-life service's DatosEspecificos.
type EmploymentData struct {
	XMLName          xml.Name `xml:"http://www.aoc.cat/via-oberta/tgss/v1 Resultat"`
	EnAlta           bool     // affiliated (working) today
	DataBaixa        string   // YYYY-MM-DD of the last end of work, empty if working or never worked
	MesosCotitzats5A int      // months contributed in the last five years
	Prestacio        bool     // receiving an unemployment benefit
}

// Values turns the working-life answer into canonical facts (schema 1).
func (e EmploymentData) Values() (map[string]any, error) {
	if e.MesosCotitzats5A < 0 || e.MesosCotitzats5A > 60 {
		return nil, fmt.Errorf("%w: months contributed out of range", ErrMalformed)
	}
	if e.DataBaixa != "" {
		if _, err := time.Parse(time.DateOnly, e.DataBaixa); err != nil || e.EnAlta {
			return nil, fmt.Errorf("%w: end-of-work date %q", ErrMalformed, e.DataBaixa)
		}
	}
	return map[string]any{"employed": e.EnAlta, "unemployed_since": e.DataBaixa,
		"months_worked_last_5y": e.MesosCotitzats5A, "receives_unemployment_benefit": e.Prestacio}, nil
}

// EmploymentFields are the fields the working-life service can release.
var EmploymentFields = []string{"employed", "unemployed_since", "months_worked_last_5y", "receives_unemployment_benefit"}

// Employment is the working-life service.
var Employment = typed[EmploymentData](ServiceEmployment, EmploymentFields)
