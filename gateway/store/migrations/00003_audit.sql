-- +goose Up
-- The audit log. audit_leaves holds each entry sealed for its subject and its
-- public commitment; audit_hashes the tree's stored hashes (tlog numbering);
-- audit_checkpoints every signed checkpoint.
CREATE TABLE audit_leaves (
    idx        BIGINT PRIMARY KEY,
    entry_id   TEXT   NOT NULL UNIQUE,
    subject    TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    commitment BYTEA  NOT NULL,
    sealed     BYTEA  NOT NULL
);
CREATE INDEX audit_leaves_subject ON audit_leaves (subject, idx);
CREATE TABLE audit_hashes (
    idx  BIGINT PRIMARY KEY,
    hash BYTEA  NOT NULL
);
CREATE TABLE audit_checkpoints (
    size BIGINT PRIMARY KEY,
    note BYTEA  NOT NULL
);

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_hashes;
DROP TABLE audit_leaves;
