-- +goose Up
-- Consent grants. A grant is immutable but for withdrawn_at, stamped once.
CREATE TABLE consent_grants (
    id           TEXT PRIMARY KEY,
    subject      TEXT   NOT NULL,
    category     TEXT   NOT NULL,
    purpose      TEXT   NOT NULL,
    requester    TEXT   NOT NULL,
    source       TEXT   NOT NULL,
    legal_basis  TEXT   NOT NULL,
    text_version TEXT   NOT NULL,
    language     TEXT   NOT NULL,
    granted_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    withdrawn_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX consent_grants_lookup ON consent_grants (subject, category, purpose, granted_at);

-- +goose Down
DROP TABLE consent_grants;
