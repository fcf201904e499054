-- +goose Up
-- Sign-in flows in progress (state, nonce, PKCE verifier, sealed) and
-- sessions. Only hashes of the browser-held ids are stored.
CREATE TABLE signin_flows (
    id_hash    TEXT   PRIMARY KEY,
    sealed     BYTEA  NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    id_hash    TEXT   PRIMARY KEY,
    subject    TEXT   NOT NULL,
    sealed     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
CREATE INDEX sessions_subject ON sessions (subject);

-- +goose Down
DROP TABLE sessions;
DROP TABLE signin_flows;
