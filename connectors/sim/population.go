// Package sim is the Via Oberta simulator: a deterministic synthetic
// population and the SCSP v3 services that answer for it (census, tax and
// working life, consistent for each person), with fault injection on demand.
// It is for development and tests only and holds no real person's data.
package sim

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Archetypes of the synthetic population, the same five the recommender
// places people in.
const (
	OlderAlone         = "older-alone"
	SingleParent       = "single-parent"
	LongTermUnemployed = "long-term-unemployed"
	YoungAtRisk        = "young-at-risk"
	DependentHousehold = "dependent-household"
)

// Archetypes lists the five archetypes in a fixed order.
var Archetypes = []string{OlderAlone, SingleParent, LongTermUnemployed, YoungAtRisk, DependentHousehold}

// Citizen is one synthetic person, consistent across census, tax and
// employment.
type Citizen struct {
	DocType, DocNumber            string
	Name, Surname1, Surname2      string
	BirthDate                     time.Time
	Gender                        string
	MunicipalityCode              string
	Municipality                  string
	CountyCode, County            string // IDESCAT's comarca of the municipality
	RegisteredSince               time.Time
	HouseholdSize, Minors, Over65 int
	DependentPerson               bool
	Archetype                     string
	IncomeAnnual                  int // euros, last tax year
	TaxCompliant                  bool
	Employed                      bool
	UnemployedSince               time.Time // zero when employed or never worked
	MonthsWorkedLast5y            int
	UnemploymentBenefit           bool
	FiledLastYear                 bool // filed an income tax return for the last tax year
	// Represents are the companies the person may act for (the register
	// of representations); Employer the administration they work for as a
	// public employee, if any.
	Represents []Representation
	Employer   string
}

// Population is a deterministic set of citizens.
type Population struct {
	list      []Citizen
	byDoc     map[string]int
	companies map[string]Company
}

// municipalities are INE code, name, and IDESCAT's county (comarca) code
// and name.
var municipalities = [][4]string{
	{"08019", "Barcelona", "13", "Barcelonès"}, {"08101", "L'Hospitalet de Llobregat", "13", "Barcelonès"},
	{"08015", "Badalona", "13", "Barcelonès"}, {"08279", "Terrassa", "40", "Vallès Occidental"},
	{"08187", "Sabadell", "40", "Vallès Occidental"}, {"17079", "Girona", "20", "Gironès"},
	{"25120", "Lleida", "33", "Segrià"}, {"43148", "Tarragona", "36", "Tarragonès"},
	{"43123", "Reus", "08", "Baix Camp"}, {"08121", "Mataró", "21", "Maresme"},
	{"08113", "Manresa", "07", "Bages"}, {"17066", "Figueres", "02", "Alt Empordà"},
}

var givenF = []string{"Maria", "Núria", "Montserrat", "Laia", "Marta", "Carme", "Aina", "Fatima", "Lucía", "Rosa", "Júlia", "Anna"}
var givenM = []string{"Jordi", "Joan", "Pere", "Marc", "Josep", "Pau", "Oriol", "Ahmed", "Carlos", "Xavier", "Arnau", "David"}
var surnames = []string{"Garcia", "Martínez", "Puig", "Soler", "Vidal", "Ferrer", "Serra", "Roca", "Costa", "Font",
	"López", "Sánchez", "Pujol", "Casals", "Riera", "Mas", "Bosch", "Camps", "El Amrani", "Fernández"}

const nifLetters = "TRWAGMYFPDXBNJZSQVHLCKE"

// NIFLetter returns the check letter of an 8-digit DNI number.
func NIFLetter(n int) byte { return nifLetters[n%23] }

// NewPopulation makes n citizens from seed; the same seed gives the same
// people. Archetypes are assigned in turn, so any n ≥ 5 has all five.
// asOf is the reference date for ages and histories.
func NewPopulation(seed int64, n int, asOf time.Time) *Population {
	r := rand.New(rand.NewPCG(uint64(seed), 0x0be7))
	p := &Population{byDoc: map[string]int{}, companies: map[string]Company{}}
	for i := range n {
		c := citizen(r, Archetypes[i%len(Archetypes)], asOf)
		for {
			if _, dup := p.byDoc[c.DocNumber]; !dup {
				break
			}
			c.DocNumber = docNumber(r, c.DocType)
		}
		c.Represents, c.Employer = representations(c), employer(c)
		for _, r := range c.Represents {
			p.companies[r.Company.NIF] = r.Company
		}
		p.byDoc[c.DocNumber] = len(p.list)
		p.list = append(p.list, c)
	}
	return p
}

// Citizens returns the population in order.
func (p *Population) Citizens() []Citizen { return append([]Citizen(nil), p.list...) }

// Lookup finds a citizen by document number.
func (p *Population) Lookup(doc string) (Citizen, bool) {
	i, ok := p.byDoc[doc]
	if !ok {
		return Citizen{}, false
	}
	return p.list[i], true
}

// Company finds a company by its NIF.
func (p *Population) Company(nif string) (Company, bool) {
	c, ok := p.companies[nif]
	return c, ok
}

func docNumber(r *rand.Rand, docType string) string {
	if docType == "NIE" {
		prefix := r.IntN(3)
		num := r.IntN(10_000_000)
		return fmt.Sprintf("%c%07d%c", "XYZ"[prefix], num, NIFLetter(prefix*10_000_000+num))
	}
	num := r.IntN(100_000_000)
	return fmt.Sprintf("%08d%c", num, NIFLetter(num))
}

func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

func citizen(r *rand.Rand, arch string, asOf time.Time) Citizen {
	c := Citizen{Archetype: arch, DocType: "NIF", TaxCompliant: r.IntN(10) > 0}
	if r.IntN(6) == 0 {
		c.DocType = "NIE"
	}
	c.DocNumber = docNumber(r, c.DocType)
	if r.IntN(2) == 0 {
		c.Gender, c.Name = "F", givenF[r.IntN(len(givenF))]
	} else {
		c.Gender, c.Name = "M", givenM[r.IntN(len(givenM))]
	}
	c.Surname1, c.Surname2 = surnames[r.IntN(len(surnames))], surnames[r.IntN(len(surnames))]
	m := municipalities[r.IntN(len(municipalities))]
	c.MunicipalityCode, c.Municipality, c.CountyCode, c.County = m[0], m[1], m[2], m[3]
	var age int
	switch arch {
	case OlderAlone:
		age = between(r, 67, 92)
		c.HouseholdSize, c.Over65 = 1, 1
		c.IncomeAnnual = between(r, 7_500, 14_000)
		c.MonthsWorkedLast5y = 0
	case SingleParent:
		age = between(r, 24, 50)
		c.Minors = between(r, 1, 3)
		c.HouseholdSize = 1 + c.Minors
		c.IncomeAnnual = between(r, 6_000, 22_000)
		c.Employed = r.IntN(3) > 0
		c.MonthsWorkedLast5y = between(r, 12, 60)
	case LongTermUnemployed:
		age = between(r, 30, 62)
		c.HouseholdSize = between(r, 1, 4)
		c.Minors = min(c.HouseholdSize-1, r.IntN(2))
		c.IncomeAnnual = between(r, 2_000, 9_000)
		c.MonthsWorkedLast5y = between(r, 0, 24)
		c.UnemployedSince = asOf.AddDate(0, -between(r, 13, 60), 0)
		c.UnemploymentBenefit = r.IntN(4) == 0
	case YoungAtRisk:
		age = between(r, 18, 29)
		c.HouseholdSize = between(r, 1, 3)
		c.IncomeAnnual = between(r, 0, 8_000)
		c.MonthsWorkedLast5y = between(r, 0, 12)
		if r.IntN(2) == 0 {
			c.UnemployedSince = asOf.AddDate(0, -between(r, 2, 20), 0)
		}
	case DependentHousehold:
		age = between(r, 40, 70)
		c.HouseholdSize = between(r, 2, 5)
		c.Over65 = r.IntN(2)
		c.Minors = min(c.HouseholdSize-1-c.Over65, r.IntN(2))
		c.DependentPerson = true
		c.IncomeAnnual = between(r, 10_000, 30_000)
		c.Employed = r.IntN(2) == 0
		c.MonthsWorkedLast5y = between(r, 20, 60)
	}
	if age >= 65 && arch != OlderAlone {
		c.Over65++
	}
	c.BirthDate = asOf.AddDate(-age, -r.IntN(12), -r.IntN(28)).Truncate(24 * time.Hour)
	c.RegisteredSince = asOf.AddDate(-between(r, 1, min(age, 30)), -r.IntN(12), 0).Truncate(24 * time.Hour)
	if c.Employed {
		c.UnemployedSince = time.Time{}
	}
	// Below about 1,000 € a year and out of work, people seldom file.
	c.FiledLastYear = c.Employed || c.IncomeAnnual >= 1_000
	return c
}
