-- +goose Up
-- When an open ticket entered the queue (creation, reopen, transfer): the supervisor
-- view's "oldest wait" is measured from it. NULL on rows from before this column means
-- created_at.
ALTER TABLE tickets ADD COLUMN queued_at timestamptz;

-- +goose Down
ALTER TABLE tickets DROP COLUMN queued_at;
