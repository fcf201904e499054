// Package catalogue is the single source of truth of what Obert knows: the
// administrations and the levels at which each may publish, and (as the
// catalogue grows) purposes, categories, connectors, consent offers and
// aids. Every other part derives its copy from one catalogue snapshot.
//
// It is a domain package: it imports no HTTP server and no SQL driver.
package catalogue
