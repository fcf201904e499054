-- +goose Up
-- One-time use of SAML assertion ids (and any other sign-in token that must
-- be used once), shared by every replica. Only hashes are stored; rows are
-- kept until the token could no longer be accepted anyway.
CREATE TABLE signin_used (
    id_hash    TEXT   PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX signin_used_expires ON signin_used (expires_at);

-- +goose Down
DROP TABLE signin_used;
