-- +goose Up
-- The catalogue's version: every change an administration makes (a
-- connector or an aid registered, updated, retired) is a new version,
-- written in the same transaction as the change. Each replica compares the
-- head with the version it applied and loads the catalogue again when it
-- moved. Each registration remembers the version that last changed it: its
-- entity tag in the administrations' API.
CREATE TABLE catalogue_head (
    id      INTEGER PRIMARY KEY,
    version BIGINT  NOT NULL
);
INSERT INTO catalogue_head (id, version) VALUES (1, 0);
CREATE TABLE catalogue_changes (
    version BIGINT PRIMARY KEY,
    kind    TEXT   NOT NULL,
    item    TEXT   NOT NULL,
    owner   TEXT   NOT NULL,
    active  INTEGER NOT NULL,
    at      BIGINT NOT NULL
);
ALTER TABLE admin_connectors ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE admin_aids ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE admin_aids DROP COLUMN version;
ALTER TABLE admin_connectors DROP COLUMN version;
DROP TABLE catalogue_changes;
DROP TABLE catalogue_head;
