package obert.aids.feina_amb_cor_test

import rego.v1

import data.obert.aids.feina_amb_cor as aid

eligible := {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1981-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["aged-45-or-more"] == true
	c["out-of-work-12-months"] == true
	c["lives-in-catalonia"] == true
}

test_not_aged_45_or_more if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1982-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["aged-45-or-more"] == false
}

test_not_out_of_work_12_months if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1981-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2026-10-31", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["out-of-work-12-months"] == false
}

test_not_lives_in_catalonia if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "28079", "municipality": "Madrid", "registered_since": "2010-01-01", "birth_date": "1981-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["lives-in-catalonia"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["aged-45-or-more"]
}
