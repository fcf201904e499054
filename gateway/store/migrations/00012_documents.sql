-- +goose Up
-- Documents issued to citizens (census, tax-compliance, working-life
-- certificates). The code printed on each (its CSV) is the key anyone may
-- look it up by; what it says is sealed (AES-GCM) by the gateway, bound to
-- its code and subject. revoked_at is 0 while the document is in force.
CREATE TABLE documents (
    csv         TEXT   PRIMARY KEY,
    subject     TEXT   NOT NULL,
    type        TEXT   NOT NULL,
    issued_at   BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    revoked_at  BIGINT NOT NULL DEFAULT 0,
    sealed      BYTEA  NOT NULL
);
CREATE INDEX documents_subject ON documents (subject, issued_at);

-- +goose Down
DROP TABLE documents;
