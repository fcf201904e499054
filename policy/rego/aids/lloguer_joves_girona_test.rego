package obert.aids.lloguer_joves_girona_test

import rego.v1

import data.obert.aids.lloguer_joves_girona as aid

eligible := {"census": {"municipality_code": "17079", "municipality": "Girona", "registered_since": "2010-01-01", "birth_date": "1996-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["lives-in-girona"] == true
	c["aged-18-or-more"] == true
	c["aged-35-or-less"] == true
}

test_not_lives_in_girona if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "25120", "municipality": "x", "registered_since": "2010-01-01", "birth_date": "1996-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["lives-in-girona"] == false
}

test_not_aged_18_or_more if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "17079", "municipality": "Girona", "registered_since": "2010-01-01", "birth_date": "2009-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["aged-18-or-more"] == false
}

test_not_aged_35_or_less if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "17079", "municipality": "Girona", "registered_since": "2010-01-01", "birth_date": "1990-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["aged-35-or-less"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["lives-in-girona"]
}
