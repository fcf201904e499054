-- +goose Up
-- Aids administrations published through the admin API: the publication
-- (entry, rule, tests) as accepted, its owner, and whether it is current.
CREATE TABLE admin_aids (
    id         TEXT    PRIMARY KEY,
    owner      TEXT    NOT NULL,
    spec       BYTEA   NOT NULL,
    active     INTEGER NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE INDEX admin_aids_owner ON admin_aids (owner);

-- +goose Down
DROP TABLE admin_aids;
