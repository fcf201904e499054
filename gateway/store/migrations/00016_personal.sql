-- +goose Up
-- What a citizen makes their own in the folder: favourites (aids,
-- procedures, documents), the life events they say apply to them, and the
-- order and visibility of the folder's sections. Exported with everything
-- else and erased with the account.
CREATE TABLE favourites (
    subject    TEXT   NOT NULL,
    kind       TEXT   NOT NULL CHECK (kind IN ('aid', 'procedure', 'document')),
    ref        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subject, kind, ref)
);
CREATE TABLE life_events (
    subject    TEXT   NOT NULL,
    event      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (subject, event)
);
CREATE TABLE folder_layouts (
    subject    TEXT   PRIMARY KEY,
    sections   TEXT   NOT NULL, -- the order, comma-separated
    hidden     TEXT   NOT NULL, -- the hidden ones, comma-separated
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE folder_layouts;
DROP TABLE life_events;
DROP TABLE favourites;
