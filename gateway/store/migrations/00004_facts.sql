-- +goose Up
-- Facts fetched for a citizen, sealed (AES-GCM) by the gateway, kept until
-- their consent's expiry or withdrawal. One row per subject and category.
CREATE TABLE facts (
    subject    TEXT   NOT NULL,
    category   TEXT   NOT NULL,
    grant_id   TEXT   NOT NULL,
    sealed     BYTEA  NOT NULL,
    fetched_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (subject, category)
);
CREATE INDEX facts_grant ON facts (grant_id);

-- +goose Down
DROP TABLE facts;
