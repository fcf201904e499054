-- +goose Up
-- How many people the anonymous questionnaire placed in each profile, per
-- day: counts only, nothing about anyone.
CREATE TABLE questionnaire_stats (
    archetype TEXT   NOT NULL,
    day       BIGINT NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (archetype, day)
);

-- +goose Down
DROP TABLE questionnaire_stats;
