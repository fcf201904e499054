package obert.aids.subsidio_desempleo_test

import rego.v1

import data.obert.aids.subsidio_desempleo as aid

eligible := {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["out-of-work"] == true
	c["no-unemployment-benefit"] == true
	c["worked-3-months"] == true
}

test_not_out_of_work if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": true, "unemployed_since": "", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["out-of-work"] == false
}

test_not_no_unemployment_benefit if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": true}}}
	c["no-unemployment-benefit"] == false
}

test_not_worked_3_months if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08019", "municipality": "Barcelona", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 2, "receives_unemployment_benefit": false}}}
	c["worked-3-months"] == false
}

test_undecided_without_employment if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["employment"])}
	not c["out-of-work"]
}
