-- +goose Up
-- A skill group's calendar (tickets.Calendar): its IANA time zone, weekly opening
-- hours and holidays, validated by the application. NULL: the group has none, and
-- the SLA policies' own hours count its tickets' deadlines.
ALTER TABLE skill_groups ADD COLUMN calendar jsonb
    CHECK (calendar IS NULL OR jsonb_typeof(calendar) = 'object');

-- +goose Down
ALTER TABLE skill_groups DROP COLUMN calendar;
