-- +goose Up
-- A grant may be paused and resumed: while paused it authorises nothing,
-- and its data is neither fetched nor used.
ALTER TABLE consent_grants ADD COLUMN paused_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE consent_grants DROP COLUMN paused_at;
