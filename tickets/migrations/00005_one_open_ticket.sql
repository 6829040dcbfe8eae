-- +goose Up
-- A conversation has at most one unresolved ticket: concurrent escalations of
-- one conversation reuse it instead of opening several.
CREATE UNIQUE INDEX tickets_one_open_per_conversation ON tickets (conversation_id)
    WHERE status NOT IN ('resolved', 'closed');

-- +goose Down
DROP INDEX tickets_one_open_per_conversation;
