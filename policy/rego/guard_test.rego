package obert.guard_test

import rego.v1

import data.obert.guard

# Times are Unix seconds, as the guard's caller gives them.
t_nov24 := time.parse_rfc3339_ns("2026-11-24T10:00:00Z") / 1000000000

t_dec24 := time.parse_rfc3339_ns("2026-12-24T10:00:00Z") / 1000000000

base := {
	"subject": "s1",
	"loa": "substantial",
	"purpose": "aid-recommendation",
	"requester": "gencat-drets-socials",
	"connector": "census",
	"category": "census",
	"source": "padro-municipal",
	"requested_fields": {"municipality", "birth_date", "address"},
	"consent": {
		"id": "g1", "category": "census", "purpose": "aid-recommendation",
		"requester": "gencat-drets-socials", "source": "padro-municipal",
		"legal_basis": "gdpr-6-1-a", "active": true, "expires_at": t_dec24,
	},
	"now": t_nov24,
}

test_allow_with_active_consent if {
	d := guard.decision with input as base
	d.allow
	d.fields == {"municipality", "birth_date"}
	"consent-active" in d.reasons
}

test_deny_without_consent if {
	d := guard.decision with input as object.remove(base, ["consent"])
	not d.allow
	"no-consent" in d.reasons
}

test_deny_expired if {
	d := guard.decision with input as object.union(base, {"now": t_dec24})
	not d.allow
	"consent-withdrawn-or-expired" in d.reasons
}

test_deny_other_purpose_consent if {
	c := object.union(base.consent, {"purpose": "proactive-alerts"})
	not guard.allow with input as object.union(base, {"consent": c})
}

# The consent names the administration that holds the data; an exchange
# that does not say where the data comes from matches no consent.
test_deny_without_source if {
	d := guard.decision with input as object.remove(base, ["source"])
	not d.allow
	d.reasons == ["consent-withdrawn-or-expired"]
}

test_deny_other_requester if {
	not guard.allow with input as object.union(base, {"requester": "someone-else"})
}

test_deny_unknown_purpose if {
	d := guard.decision with input as object.union(base, {"purpose": "marketing"})
	not d.allow
	"purpose-unknown" in d.reasons
}

test_deny_low_loa if {
	d := guard.decision with input as object.union(base, {"loa": "low"})
	not d.allow
	"loa-too-low" in d.reasons
}

test_deny_no_fields if {
	d := guard.decision with input as object.union(base, {"requested_fields": {"address"}})
	not d.allow
	"no-fields" in d.reasons
}

# The requested fields are a set; a list of them is not read.
test_deny_fields_not_a_set if {
	d := guard.decision with input as object.union(base, {"requested_fields": ["municipality"]})
	not d.allow
	d.reasons == ["no-fields"]
}

# A consent that bounds the tax years the source may be asked about: a year
# inside is allowed, one outside or none at all refused, saying why.
test_outside_period_inside if {
	guard.decision.allow with input as object.union(bounded, {"period": 2022})
	guard.decision.allow with input as object.union(bounded, {"period": 2024})
	guard.decision.allow with input as object.union(base, {"period": 1990})
}

test_outside_period_outside if {
	every p in [2021, 2025, "2023"] {
		d := guard.decision with input as object.union(bounded, {"period": p})
		not d.allow
		d.reasons == ["outside-period"]
	}
}

test_outside_period_none if {
	d := guard.decision with input as bounded
	d.reasons == ["outside-period"]
}

bounded := object.union(base, {"consent": object.union(base.consent, {"from_year": 2022, "to_year": 2024})})

# A consent that limits how often the source may be asked: sooner is
# refused, saying why; later, or the first time, is allowed.
test_too_frequent if {
	limited := object.union(base, {"consent": object.union(base.consent, {"min_interval": 86400})})
	d := guard.decision with input as object.union(limited, {"last_fetch": base.now - 3600})
	not d.allow
	d.reasons == ["too-frequent"]
	guard.decision.allow with input as object.union(limited, {"last_fetch": base.now - 86401})
	guard.decision.allow with input as limited
}

test_law_basis if {
	law := {"id": "law:test", "kind": "law", "requesters": ["gencat-drets-socials"], "categories": ["census"], "purposes": ["aid-recommendation"]}
	inp := object.union(object.remove(base, ["consent"]), {"legal_basis": "law:test"})
	d := guard.decision with input as inp with data.obert.laws as [law]
	d.allow
	"legal-basis" in d.reasons
	# An objection does not stop what a law obliges.
	guard.decision.allow with input as object.union(inp, {"objected": true}) with data.obert.laws as [law]
}

test_noopo_basis_stops_at_an_objection if {
	law := {"id": "noopo:test", "kind": "noopo", "requesters": ["gencat-drets-socials"], "categories": ["census"], "purposes": ["aid-recommendation"]}
	inp := object.union(object.remove(base, ["consent"]), {"legal_basis": "noopo:test", "objected": false})
	guard.decision.allow with input as inp with data.obert.laws as [law]
	d := guard.decision with input as object.union(inp, {"objected": true}) with data.obert.laws as [law]
	not d.allow
	d.reasons == ["objected"]
}

test_law_basis_only_for_its_purposes if {
	law := {"id": "law:test", "kind": "law", "requesters": ["gencat-drets-socials"], "categories": ["census"], "purposes": ["proactive-alerts"]}
	inp := object.union(object.remove(base, ["consent"]), {"legal_basis": "law:test"})
	d := guard.decision with input as inp with data.obert.laws as [law]
	not d.allow
	d.reasons == ["no-consent"]
}

test_deny_names_only_what_failed if {
	d := guard.decision with input as object.union(base, {"loa": "low"})
	d.reasons == ["loa-too-low"]
	not guard.allow with input as object.union(base, {"loa": "low"})
}

# The consent path of the decision states its conditions inline; the named
# rules state them for the reasons. They agree on every variation.
variations := [
	base,
	object.union(base, {"loa": "low"}),
	object.union(base, {"loa": "high"}),
	object.union(base, {"loa": "none"}),
	object.union(base, {"purpose": "marketing"}),
	object.union(base, {"purpose": "proactive-alerts"}),
	object.union(base, {"category": "tax"}),
	object.union(base, {"category": "nothing"}),
	object.union(base, {"requester": "someone-else"}),
	object.union(base, {"source": "aeat"}),
	object.remove(base, ["source"]),
	object.union(base, {"requested_fields": {"address"}}),
	object.union(base, {"requested_fields": set()}),
	object.union(base, {"requested_fields": ["municipality"]}),
	object.remove(base, ["requested_fields"]),
	object.union(base, {"now": t_dec24}),
	object.union(base, {"now": t_dec24 - 1}),
	object.remove(base, ["consent"]),
	object.union(base, {"consent": object.union(base.consent, {"active": false})}),
	object.union(base, {"consent": object.union(base.consent, {"category": "tax"})}),
	object.union(base, {"consent": object.union(base.consent, {"purpose": "proactive-alerts"})}),
	object.union(base, {"consent": object.union(base.consent, {"requester": "x"})}),
	object.union(base, {"consent": object.union(base.consent, {"source": "aeat"})}),
	object.union(base, {"consent": object.union(base.consent, {"legal_basis": "law:test"})}),
	object.union(base, {"consent": object.union(base.consent, {"expires_at": t_nov24})}),
	object.union(base, {"consent": object.union(base.consent, {"min_interval": 3600}), "last_fetch": base.now - 60}),
	object.union(base, {"consent": object.union(base.consent, {"min_interval": 3600}), "last_fetch": base.now - 7200}),
	object.union(base, {"consent": object.union(base.consent, {"min_interval": 3600})}),
	object.union(base, {"consent": object.union(base.consent, {"from_year": 2022, "to_year": 2024}), "period": 2024}),
	object.union(base, {"consent": object.union(base.consent, {"from_year": 2022, "to_year": 2024}), "period": 2021}),
	object.union(base, {"consent": object.union(base.consent, {"from_year": 2022, "to_year": 2024}), "period": 2025}),
	object.union(base, {"consent": object.union(base.consent, {"from_year": 2022})}),
	object.union(base, {"consent": object.union(base.consent, {"to_year": 2023}), "period": 2023}),
]

default by_consent := false

by_consent if {
	guard.loa_ok
	guard.fields != set()
	guard.consent_matches
}

default by_consent_path(_) := false

by_consent_path(d) if {
	d.allow
	d.reasons == ["consent-active"]
}

test_consent_path_agrees_with_the_named_rules if {
	every v in variations {
		d := guard.decision with input as v
		want := by_consent with input as v
		by_consent_path(d) == want
		d.fields == guard.fields with input as v
	}
}

test_variations_cover_both_outcomes if {
	some v in variations
	guard.allow with input as v
	some w in variations
	not guard.allow with input as w
}
