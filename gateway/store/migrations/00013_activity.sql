-- +goose Up
-- Citizens' decisions on notifications addressed to them (accepted or
-- rejected), one per notification, from which their signed
-- acknowledgement is made again on each download (Ed25519 signatures are
-- deterministic). Nothing here names the person but the subject key; the
-- content is kept only as its digest.
CREATE TABLE activity_acks (
    subject        TEXT   NOT NULL,
    source         TEXT   NOT NULL,
    notification   TEXT   NOT NULL,
    posted_at      BIGINT NOT NULL,
    decision       TEXT   NOT NULL,
    decided_at     BIGINT NOT NULL,
    loa            TEXT   NOT NULL,
    content_sha256 TEXT   NOT NULL,
    legal_basis    TEXT   NOT NULL,
    version        TEXT   NOT NULL,
    PRIMARY KEY (subject, source, notification)
);

-- +goose Down
DROP TABLE activity_acks;
