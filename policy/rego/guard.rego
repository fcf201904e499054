# The access guard: decides every exchange of personal data. Default deny.
package obert.guard

import rego.v1

default allow := false

loa_rank := {"low": 1, "substantial": 2, "high": 3}

purpose_known if data.obert.purposes[input.purpose]

# The purpose's rules for this category, looked up once.
cat := data.obert.purposes[input.purpose].categories[input.category]

loa_ok if loa_rank[input.loa] >= loa_rank[cat.min_loa]

consent_matches if {
	c := input.consent
	c.active
	c.category == input.category
	c.purpose == input.purpose
	c.requester == input.requester
	c.legal_basis == "gdpr-6-1-a"
	time.parse_rfc3339_ns(c.expires_at) > time.parse_rfc3339_ns(input.now)
	source_ok(c)
}

source_ok(c) if c.source == input.source

source_ok(c) if not input.source

law_allows if {
	some law in data.obert.laws
	law.id == input.legal_basis
	input.requester in law.requesters
	input.category in law.categories
	input.purpose in law.purposes
}

basis_ok if consent_matches

basis_ok if law_allows

fields := sort([f | some f in input.requested_fields; f in cat.fields])

allow if {
	purpose_known
	loa_ok
	basis_ok
	count(fields) > 0
}

reasons contains "purpose-unknown" if not purpose_known

reasons contains "category-not-allowed-for-purpose" if {
	purpose_known
	not cat
}

reasons contains "loa-too-low" if {
	cat
	not loa_ok
}

reasons contains "no-consent" if {
	not input.consent
	not law_allows
}

reasons contains "consent-withdrawn-or-expired" if {
	input.consent
	not consent_matches
	not law_allows
}

reasons contains "no-fields" if {
	purpose_known
	count(fields) == 0
}

reasons contains "consent-active" if consent_matches

reasons contains "legal-basis" if law_allows

# The allow path names its basis and stops there; only a deny works out
# every reason (evaluating them all on every allow was a fifth of a
# decision's allocations).
decision := {"allow": true, "reasons": [basis_reason], "fields": fields} if {
	allow
} else := {"allow": false, "reasons": sort(reasons), "fields": fields}

basis_reason := "consent-active" if consent_matches

else := "legal-basis"
