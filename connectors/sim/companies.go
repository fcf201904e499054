package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Company is a synthetic legal person: what the register of
// representations says of it, and what the tax agency does.
type Company struct {
	NIF          string // a CIF: letter, seven digits, control character
	Name         string
	TaxCompliant bool
	// SocialSecurityCompliant: up to date with the Social Security.
	SocialSecurityCompliant bool
}

// Representation is one company a citizen may act for, as the register
// of representations (RERE) states it.
type Representation struct {
	Company Company
	Powers  string // "general" or "tax": what the power covers
}

// Employers are the administrations (the register's ids) some synthetic
// citizens work for, as public employees.
var Employers = []string{"gencat-dsf", "soc", "ajbcn", "ajsabadell"}

var companyWords = []string{"Serveis", "Tallers", "Distribucions", "Consultoria", "Instal·lacions", "Comerç", "Fusteria", "Transports"}

// seedOf is a number drawn from doc alone, so that representations and
// employers are deterministic without changing the rest of the population.
func seedOf(doc, salt string) uint64 {
	h := sha256.Sum256([]byte(salt + ":" + doc))
	return binary.BigEndian.Uint64(h[:8])
}

// cifControl is the control character of a CIF's seven digits, a digit or a
// letter as the company's kind asks.
func cifControl(letter byte, digits string) string {
	sumEven, sumOdd := 0, 0
	for i := range 7 {
		d := int(digits[i] - '0')
		if i%2 == 1 {
			sumEven += d
		} else {
			d *= 2
			sumOdd += d/10 + d%10
		}
	}
	c := (10 - (sumEven+sumOdd)%10) % 10
	switch letter {
	case 'N', 'P', 'Q', 'R', 'S', 'W':
		return string("JABCDEFGHI"[c])
	}
	return fmt.Sprint(c)
}

// representations draws the companies a citizen may act for: about one
// adult in three represents one, and one in nine two.
func representations(c Citizen) []Representation {
	n := seedOf(c.DocNumber, "rere")
	count := 0
	switch {
	case n%9 == 0:
		count = 2
	case n%3 == 0:
		count = 1
	}
	var out []Representation
	for i := range count {
		m := seedOf(c.DocNumber, fmt.Sprint("company", i))
		digits := fmt.Sprintf("%07d", m%10_000_000)
		nif := "B" + digits + cifControl('B', digits)
		out = append(out, Representation{
			Company: Company{NIF: nif, Name: fmt.Sprintf("%s %s SL", companyWords[(m>>24)%uint64(len(companyWords))], c.Surname1),
				TaxCompliant: (m>>32)%5 != 0, SocialSecurityCompliant: (m>>40)%6 != 0},
			Powers: []string{"general", "tax"}[(m>>48)%2],
		})
	}
	return out
}

// employer draws the administration a citizen works for, if any: one in
// five of those in work.
func employer(c Citizen) string {
	n := seedOf(c.DocNumber, "employer")
	if !c.Employed || n%5 != 0 {
		return ""
	}
	return Employers[(n>>8)%uint64(len(Employers))]
}
