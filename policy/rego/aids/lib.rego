# Helpers shared by the aid rules.
package obert.aids.lib

import rego.v1

today_ns := time.parse_ns("2006-01-02", input.today)

age := time.diff(today_ns, time.parse_ns("2006-01-02", input.facts.census.birth_date))[0]

years_registered := time.diff(today_ns, time.parse_ns("2006-01-02", input.facts.census.registered_since))[0]

catalan_municipality if substring(input.facts.census.municipality_code, 0, 2) in {"08", "17", "25", "43"}

# months_since is the whole months from date d (YYYY-MM-DD) to today.
months_since(d) := m if {
	diff := time.diff(today_ns, time.parse_ns("2006-01-02", d))
	m := (diff[0] * 12) + diff[1]
}
