package connectors

import (
	"slices"
	"time"
)

// Question is a yes/no question a purpose may ask of a category instead of
// its full answer: "is this person resident in Catalonia?" rather than their
// address and date of birth. Its answer is a boolean field of the category,
// released and stored like any other, and it is all that is kept.
//
// A source that answers the question itself (a verification service, as
// the SCSP residence verification does) is asked it; otherwise the
// connector asks for the fields the answer needs and keeps only the answer.
type Question struct {
	ID       string
	Category Category
	Field    string   // the answer's field
	Needs    []string // the full answer's fields it is computed from
	// answer computes the answer from those fields at the time of the
	// fetch; ok is false when they do not decide it.
	answer func(v map[string]any, at time.Time) (yes, ok bool)
}

// IPREMAnnual is the IPREM of 14 monthly payments (Spain's public income
// indicator, euros), which income thresholds of aids are stated in.
const IPREMAnnual = 8400

// catalanProvinces are the INE province codes of Catalonia, which begin
// the codes of its municipalities.
var catalanProvinces = []string{"08", "17", "25", "43"}

// Questions are the minimised questions Obert knows, by answer field.
var Questions = map[string]Question{
	"resident_in_catalonia": {ID: "resident-in-catalonia", Category: Census, Field: "resident_in_catalonia",
		Needs: []string{"municipality_code"}, answer: func(v map[string]any, _ time.Time) (bool, bool) {
			code, ok := v["municipality_code"].(string)
			if !ok || len(code) != 5 {
				return false, false
			}
			return slices.Contains(catalanProvinces, code[:2]), true
		}},
	"over_65": {ID: "over-65", Category: Census, Field: "over_65",
		Needs: []string{"birth_date"}, answer: func(v map[string]any, at time.Time) (bool, bool) {
			s, _ := v["birth_date"].(string)
			born, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return false, false
			}
			return !born.AddDate(65, 0, 0).After(at), true
		}},
	"income_below_twice_iprem": {ID: "income-below-twice-iprem", Category: Tax, Field: "income_below_twice_iprem",
		Needs: []string{"income_annual"}, answer: func(v map[string]any, _ time.Time) (bool, bool) {
			n, ok := number(v["income_annual"])
			if !ok {
				return false, false
			}
			return n < 2*IPREMAnnual, true
		}},
	"registered_unemployed": {ID: "registered-unemployed", Category: Employment, Field: "registered_unemployed",
		Needs: []string{"employed", "unemployed_since"}, answer: func(v map[string]any, _ time.Time) (bool, bool) {
			employed, ok := v["employed"].(bool)
			if !ok {
				return false, false
			}
			since, _ := v["unemployed_since"].(string)
			return !employed && since != "", true
		}},
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// Answerable lists the answer fields of the questions of category that a
// source releasing fields (or answering the questions asks itself) can
// answer, sorted.
func Answerable(category Category, fields, asks []string) []string {
	var out []string
	for f, q := range Questions {
		if q.Category != category {
			continue
		}
		if slices.Contains(asks, f) || !slices.ContainsFunc(q.Needs, func(n string) bool { return !slices.Contains(fields, n) }) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// Minimise computes each question's answer from values, fetched at at, and
// returns only the requested fields: a field asked for an answer alone is
// dropped once the answer is made. An answer the values cannot decide is
// left out.
func Minimise(values map[string]any, requested []string, at time.Time) map[string]any {
	out := make(map[string]any, len(requested))
	for _, f := range requested {
		if q, ok := Questions[f]; ok {
			if _, native := values[f]; !native {
				if yes, ok := q.answer(values, at); ok {
					out[f] = yes
				}
				continue
			}
		}
		if v, ok := values[f]; ok {
			out[f] = v
		}
	}
	return out
}
