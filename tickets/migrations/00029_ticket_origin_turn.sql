-- +goose Up
-- The customer message (messages.id) whose turn escalated into the ticket. A turn
-- retried after its first attempt committed the ticket (and then timed out) finds
-- that ticket here instead of opening a second one; the unique index also stops two
-- concurrent attempts of one turn. Tickets opened otherwise (API, merges) have none.
-- No foreign key: messages is partitioned and archived away, the ticket stays.
ALTER TABLE tickets ADD COLUMN origin_message_id bigint;
CREATE UNIQUE INDEX tickets_origin_message ON tickets (origin_message_id) WHERE origin_message_id IS NOT NULL;

-- +goose Down
DROP INDEX tickets_origin_message;
ALTER TABLE tickets DROP COLUMN origin_message_id;
