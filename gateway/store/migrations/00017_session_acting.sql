-- +goose Up
-- The profile a session acts in (a company represented, a public
-- employee's), sealed under the session; none is the person themself.
ALTER TABLE sessions ADD COLUMN acting BYTEA;

-- +goose Down
ALTER TABLE sessions DROP COLUMN acting;
