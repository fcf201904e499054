package obert.aids.orientacio_laboral_test

import rego.v1

import data.obert.aids.orientacio_laboral as aid

eligible := {"census": {"municipality_code": "43123", "municipality": "Reus", "county_code": "08", "registered_since": "2010-01-01", "birth_date": "1996-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}

test_eligible if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": eligible}
	c["lives-in-baix-camp"] == true
	c["aged-18-or-more"] == true
	c["out-of-work"] == true
}

test_not_aged_18_or_more if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "43123", "municipality": "Reus", "county_code": "08", "registered_since": "2010-01-01", "birth_date": "2009-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": false, "unemployed_since": "2023-01-01", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["aged-18-or-more"] == false
}

test_not_out_of_work if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": {"census": {"municipality_code": "43123", "municipality": "Reus", "county_code": "08", "registered_since": "2010-01-01", "birth_date": "1996-05-01", "household_size": 3, "minors_in_household": 1, "over_65_in_household": 0, "lives_alone": false}, "tax": {"tax_year": 2025, "income_annual": 5000, "tax_compliant": true, "filed_last_year": true}, "employment": {"employed": true, "unemployed_since": "", "months_worked_last_5y": 24, "receives_unemployment_benefit": false}}}
	c["out-of-work"] == false
}

test_not_lives_in_baix_camp if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": json.patch(eligible, [{"op": "replace", "path": "/census/county_code", "value": "40"}, {"op": "replace", "path": "/census/municipality_code", "value": "08187"}])}
	c["lives-in-baix-camp"] == false
}

test_undecided_without_census if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": object.remove(eligible, ["census"])}
	not c["aged-18-or-more"]
}

test_undecided_without_county if {
	c := aid.criteria with input as {"today": "2026-11-24", "facts": json.remove(eligible, ["/census/county_code"])}
	not "lives-in-baix-camp" in object.keys(c)
}
