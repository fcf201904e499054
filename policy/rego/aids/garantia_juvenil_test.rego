package obert.aids.garantia_juvenil_test

import rego.v1

import data.obert.aids.garantia_juvenil as aid

eligible := {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1997-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["aged-16-or-more"] == true
	c["aged-29-or-less"] == true
	c["out-of-work"] == true
}

test_not_aged_16_or_more if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "2011-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["aged-16-or-more"] == false
}

test_not_aged_29_or_less if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1996-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["aged-29-or-less"] == false
}

test_not_out_of_work if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1997-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": true, "unemployed_since": "", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["out-of-work"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["aged-16-or-more"]
}
