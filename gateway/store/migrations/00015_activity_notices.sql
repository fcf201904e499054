-- +goose Up
-- Citizens who asked to be told by e-mail when a notification waits for
-- them: the address and the identity the sources are asked about, sealed.
CREATE TABLE activity_notices (
    subject    TEXT   PRIMARY KEY,
    sealed     BYTEA  NOT NULL,
    created_at BIGINT NOT NULL
);
-- Each notification a citizen was told of, claimed before the e-mail is
-- sent, so that it is sent once whichever replica runs the round.
CREATE TABLE activity_noticed (
    subject      TEXT   NOT NULL,
    source       TEXT   NOT NULL,
    notification TEXT   NOT NULL,
    at           BIGINT NOT NULL,
    PRIMARY KEY (subject, source, notification)
);
-- Leases of rounds of background work that one replica at a time does.
CREATE TABLE leases (
    name   TEXT   PRIMARY KEY,
    holder TEXT   NOT NULL,
    until  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE activity_noticed;
DROP TABLE activity_notices;
