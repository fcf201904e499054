package obert.aids.ajuda_domicili_comarcal_test

import rego.v1

import data.obert.aids.ajuda_domicili_comarcal as aid

eligible := {"census": {"municipality_code": "08187", "municipality": "Sabadell", "county_code": "40", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 1, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["older-person-at-home"] == true
	c["lives-in-valles-occidental"] == true
	c["income-per-member-below-threshold"] == true
}

test_not_older_person_at_home if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08187", "municipality": "Sabadell", "county_code": "40", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["older-person-at-home"] == false
}

test_not_lives_in_valles_occidental if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": json.patch(eligible, [{"op": "replace", "path": "/census/county_code", "value": "20"}, {"op": "replace", "path": "/census/municipality_code", "value": "17079"}])}
	c["lives-in-valles-occidental"] == false
}

test_not_income_per_member_below_threshold if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "08187", "municipality": "Sabadell", "county_code": "40", "registered_since": "2010-01-01", "birth_date": "1986-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 1, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 36001, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["income-per-member-below-threshold"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["older-person-at-home"]
}

test_undecided_without_county if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": json.remove(eligible, ["/census/county_code"])}
	not "lives-in-valles-occidental" in object.keys(c)
}
