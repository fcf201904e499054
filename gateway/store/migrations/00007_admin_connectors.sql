-- +goose Up
-- Connectors administrations registered through the admin API: the
-- registration as submitted (JSON), its owner, and whether it is active.
CREATE TABLE admin_connectors (
    id         TEXT    PRIMARY KEY,
    owner      TEXT    NOT NULL,
    spec       BYTEA   NOT NULL,
    active     INTEGER NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE INDEX admin_connectors_owner ON admin_connectors (owner);

-- +goose Down
DROP TABLE admin_connectors;
