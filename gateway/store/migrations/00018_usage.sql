-- +goose Up
-- Usage of each source's data, counted with the audit entries that record
-- it and in the same transaction: by day (UTC), source, requester,
-- purpose, category, kind of entry, outcome and the source's state code.
-- Nothing in it says who.
CREATE TABLE usage_counts (
    day       TEXT   NOT NULL,
    source    TEXT   NOT NULL,
    requester TEXT   NOT NULL,
    purpose   TEXT   NOT NULL,
    category  TEXT   NOT NULL,
    kind      TEXT   NOT NULL,
    outcome   TEXT   NOT NULL,
    state     TEXT   NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (day, source, requester, purpose, category, kind, outcome, state)
);

-- +goose Down
DROP TABLE usage_counts;
