-- +goose Up
-- A conversation has at most one unresolved ticket: concurrent escalations of
-- one conversation reuse it instead of opening several. Older duplicates
-- (from before this rule) are closed, keeping the newest.
UPDATE tickets SET status = 'closed', closed_at = now(), version = version + 1
WHERE id IN (
    SELECT id FROM (
        SELECT id, row_number() OVER (PARTITION BY conversation_id ORDER BY created_at DESC) AS rn
        FROM tickets WHERE status NOT IN ('resolved', 'closed')) dup
    WHERE rn > 1);
CREATE UNIQUE INDEX tickets_one_open_per_conversation ON tickets (conversation_id)
    WHERE status NOT IN ('resolved', 'closed');

-- +goose Down
DROP INDEX tickets_one_open_per_conversation;
