// Package documents issues the certificates a citizen asks for from the
// data Obert already holds for them — the census certificate ("volant de
// convivència"), the tax-compliance certificate and the working-life
// report — as PDF files signed by Obert's document key, each carrying a
// CSV (código seguro de verificación) and a QR code of its public
// verification address. It keeps what each document said, sealed, so that
// anyone holding the CSV can check it, and lets the citizen revoke it.
// Every issue, verification and revocation is an audit entry.
//
// It declares the Store, Sealer and Recorder it needs; gateway/store and
// the gateway provide them. It must never import HTTP handlers, SQL
// drivers, the exchange or the web layer: the facts come in as values.
package documents
