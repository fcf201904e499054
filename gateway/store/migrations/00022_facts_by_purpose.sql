-- +goose Up
-- Facts are kept per purpose: a minimised answer fetched for one purpose
-- ("resident in Catalonia: yes") sits beside the full answer fetched for
-- another, rather than replacing it. Facts fetched under a grant belong to
-- the grant's purpose; those fetched on a law (no grant) to the purpose
-- that runs on it.
CREATE TABLE facts_by_purpose (
    subject    TEXT   NOT NULL,
    category   TEXT   NOT NULL,
    purpose    TEXT   NOT NULL,
    grant_id   TEXT   NOT NULL,
    sealed     BYTEA  NOT NULL,
    fetched_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (subject, category, purpose)
);
INSERT INTO facts_by_purpose (subject, category, purpose, grant_id, sealed, fetched_at, expires_at)
SELECT f.subject, f.category, COALESCE(g.purpose, CASE f.category
        WHEN 'representation' THEN 'acting-for'
        WHEN 'company' THEN 'company-folder'
        ELSE 'aid-recommendation' END),
    f.grant_id, f.sealed, f.fetched_at, f.expires_at
FROM facts f LEFT JOIN consent_grants g ON g.id = f.grant_id AND f.grant_id <> '';
DROP TABLE facts;
ALTER TABLE facts_by_purpose RENAME TO facts;
CREATE INDEX facts_grant ON facts (grant_id);
CREATE INDEX facts_expires ON facts (expires_at);

-- +goose Down
CREATE TABLE facts_by_category (
    subject    TEXT   NOT NULL,
    category   TEXT   NOT NULL,
    grant_id   TEXT   NOT NULL,
    sealed     BYTEA  NOT NULL,
    fetched_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (subject, category)
);
-- One row a category: the full answer, the recommendations' (minimised
-- answers have no place in the old table).
INSERT INTO facts_by_category (subject, category, grant_id, sealed, fetched_at, expires_at)
SELECT subject, category, grant_id, sealed, fetched_at, expires_at FROM facts
WHERE purpose IN ('aid-recommendation', 'acting-for', 'company-folder');
DROP TABLE facts;
ALTER TABLE facts_by_category RENAME TO facts;
CREATE INDEX facts_grant ON facts (grant_id);
CREATE INDEX facts_expires ON facts (expires_at);
