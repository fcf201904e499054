package obert.aids.urgencia_comarcal_test

import rego.v1

import data.obert.aids.urgencia_comarcal as aid

eligible := {"census": {"municipality_code": "17079", "municipality": "Girona", "county_code": "20", "registered_since": "2024-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["registered-1-years"] == true
	c["lives-in-girones"] == true
	c["income-per-member-below-threshold"] == true
}

test_not_registered_1_years if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "17079", "municipality": "Girona", "county_code": "20", "registered_since": "2026-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["registered-1-years"] == false
}

test_not_lives_in_girones if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": json.patch(eligible, [{"op": "replace", "path": "/census/county_code", "value": "40"}, {"op": "replace", "path": "/census/municipality_code", "value": "08187"}])}
	c["lives-in-girones"] == false
}

test_not_income_per_member_below_threshold if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "17079", "municipality": "Girona", "county_code": "20", "registered_since": "2024-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 19501, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["income-per-member-below-threshold"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["registered-1-years"]
}

test_undecided_without_county if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": json.remove(eligible, ["/census/county_code"])}
	not "lives-in-girones" in object.keys(c)
}
