// Package credentials issues the documents that accredit a citizen's
// situation (census certificate, tax-compliance certificate, working-life
// report) as SD-JWT VCs: IETF "SD-JWT-based Verifiable Credentials"
// (typ dc+sd-jwt) with every claim selectively disclosable per RFC 9901,
// optionally bound to a holder key (cnf), and revocable through an IETF
// Token Status List served as a signed statuslist+jwt.
//
// It owns the issuer's signing key in memory, the compact SD-JWT encoding,
// the holder's presentation helper and a verifier for presentations. It
// persists only status-list indices, through the Store it declares; it must
// never import the gateway, the stores or any connector: the gateway hands it
// claims it has already fetched under the citizen's consent.
package credentials
