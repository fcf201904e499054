-- +goose Up
-- The tax years a source with periods may be asked about under a grant, as
-- the citizen bounded them (0: any).
ALTER TABLE consent_grants ADD COLUMN from_year BIGINT NOT NULL DEFAULT 0;
ALTER TABLE consent_grants ADD COLUMN to_year BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE consent_grants DROP COLUMN to_year;
ALTER TABLE consent_grants DROP COLUMN from_year;
