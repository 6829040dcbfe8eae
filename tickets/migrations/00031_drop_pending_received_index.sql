-- +goose Up
-- Every pending turn was indexed three times: by received_at (channel_messages_pending_idx,
-- from 00002), by conversation (the claims' skip scan) and, while unanswered, by
-- received_at again (the claims' and ReplyDue's oldest-first reads, both from 00030). No
-- query reads the first since 00030: what filters on pending alone (the dead-letter
-- give-up, the queue counts) scans the conversation index, which holds the same rows.
-- Each turn's insert wrote one index entry more than it needed.
DROP INDEX channel_messages_pending_idx;

-- +goose Down
CREATE INDEX channel_messages_pending_idx ON channel_messages (received_at) WHERE state = 'pending';
