// Package activity owns the citizen's own dealings with administrations:
// the applications they started (as e-TRAM shows them) and the
// notifications addressed to them (as e-NOTUM delivers them), read from
// activity sources over signed requests, and the signed acknowledgement of
// each notification the citizen accepts or rejects.
//
// Reading one's own dealings needs no consent: the legal basis is the
// citizen's own request. Every read and every decision is an audit entry,
// committed before anything is shown or sent; without the log, nothing is.
//
// It must not import HTTP handlers, the store or any driver.
package activity
