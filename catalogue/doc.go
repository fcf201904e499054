// Package catalogue is the single source of truth of what Obert knows: the
// administrations and the levels at which each may publish, the built-in
// purposes (with their SCSP texts and legal basis), the built-in categories
// (their source, SCSP service and fields, and for each purpose the minimal
// fields and the weakest sign-in), and the questionnaire's archetypes.
// seed.json states them once; Seed returns them as a Snapshot.
//
// Other parts still hold copies (the SCSP services, the consent offers, the
// guard's data, the translations, the simulator, the recommender, the
// shipped aids). Agree checks, at start, that each says what the snapshot
// says, and names every disagreement.
//
// What administrations change at runtime is stored in versions; a Follower
// keeps each process at the newest.
//
// It is a domain package: it imports no HTTP server and no SQL driver, and
// none of gateway/…, consent, policy or connectors. The gateway hands it
// their copies as plain data (Parts).
package catalogue
