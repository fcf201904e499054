-- +goose Up
-- Proactive alerts (phase 3). A citizen subscribes one target per channel
-- (an e-mail address, a web push subscription), sealed by the gateway; the
-- quiet hours are minutes after midnight, Europe/Madrid; loa is the level
-- of assurance of the sign-in that subscribed, which background
-- evaluations present to the guard.
CREATE TABLE alert_subscriptions (
    subject    TEXT    NOT NULL,
    channel    TEXT    NOT NULL,
    target     BYTEA   NOT NULL,
    language   TEXT    NOT NULL,
    loa        TEXT    NOT NULL,
    quiet_from INTEGER NOT NULL,
    quiet_to   INTEGER NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (subject, channel)
);

-- One row per alert and channel: claimed before it is sent, marked sent
-- after; an alert is never sent twice. state "known" marks an aid that
-- already fitted when the citizen subscribed (nothing is sent for it).
CREATE TABLE alert_deliveries (
    subject    TEXT   NOT NULL,
    alert_key  TEXT   NOT NULL,
    channel    TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, alert_key, channel)
);

-- Aid versions whose sweep has been enqueued.
CREATE TABLE alert_sweeps (
    aid_id     TEXT   NOT NULL,
    version    TEXT   NOT NULL,
    queued_at  BIGINT NOT NULL,
    PRIMARY KEY (aid_id, version)
);

-- +goose Down
DROP TABLE alert_sweeps;
DROP TABLE alert_deliveries;
DROP TABLE alert_subscriptions;
