# Catalan employment service: programme for people unemployed a year or more
# (example).
package obert.aids.employment_plan

import rego.v1

import data.obert.aids.lib

criteria["unemployed-a-year"] := false if input.facts.employment.employed

criteria["unemployed-a-year"] := time.diff(lib.today_ns, time.parse_ns("2006-01-02", input.facts.employment.unemployed_since))[0] >= 1 if {
	not input.facts.employment.employed
}

criteria["working-age"] := lib.age >= 16 if lib.age < 65

criteria["working-age"] := false if lib.age >= 65
