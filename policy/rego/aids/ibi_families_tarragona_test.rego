package obert.aids.ibi_families_tarragona_test

import rego.v1

import data.obert.aids.ibi_families_tarragona as aid

eligible := {"census": {"municipality_code": "43148", "municipality": "Tarragona", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["lives-in-tarragona"] == true
	c["household-of-3-or-more"] == true
	c["tax-up-to-date"] == true
}

test_not_lives_in_tarragona if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "25120", "municipality": "x", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["lives-in-tarragona"] == false
}

test_not_household_of_3_or_more if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "43148", "municipality": "Tarragona", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 2, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["household-of-3-or-more"] == false
}

test_not_tax_up_to_date if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "43148", "municipality": "Tarragona", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": false, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["tax-up-to-date"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["lives-in-tarragona"]
}
