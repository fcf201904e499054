-- +goose Up
-- Limits the citizen sets on a grant: how often the source may be asked
-- (seconds between requests; 0 none) and how long fetched data may be
-- kept (seconds; 0: until the grant ends).
ALTER TABLE consent_grants ADD COLUMN min_interval BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consent_grants ADD COLUMN data_life BIGINT NOT NULL DEFAULT 0;
-- When the source was last asked under the grant (Unix microseconds; 0
-- never), claimed atomically so that replicas racing honour the limit.
ALTER TABLE consent_grants ADD COLUMN last_request BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE consent_grants DROP COLUMN last_request;
ALTER TABLE consent_grants DROP COLUMN data_life;
ALTER TABLE consent_grants DROP COLUMN min_interval;
