-- +goose Up
-- Objections a citizen has made (GDPR Art. 21), e.g. to proactive
-- profiling. One row per subject and kind while the objection stands.
CREATE TABLE objections (
    subject TEXT   NOT NULL,
    kind    TEXT   NOT NULL,
    at      BIGINT NOT NULL,
    PRIMARY KEY (subject, kind)
);
CREATE INDEX facts_expires ON facts (expires_at);

-- +goose Down
DROP INDEX facts_expires;
DROP TABLE objections;
