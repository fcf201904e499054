-- +goose Up
-- An e-mail address receives alerts only once its owner confirmed it by a
-- link sent to it (one use, expiring). A browser's push subscription is
-- its own proof. Addresses subscribed before this are not confirmed: the
-- alerts page asks their owners to confirm them.
ALTER TABLE alert_subscriptions ADD COLUMN confirmed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alert_subscriptions ADD COLUMN confirm_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_subscriptions ADD COLUMN confirm_until BIGINT NOT NULL DEFAULT 0;
UPDATE alert_subscriptions SET confirmed_at = created_at WHERE channel = 'push';

-- +goose Down
ALTER TABLE alert_subscriptions DROP COLUMN confirm_until;
ALTER TABLE alert_subscriptions DROP COLUMN confirm_hash;
ALTER TABLE alert_subscriptions DROP COLUMN confirmed_at;
