-- +goose Up
-- What the turn queue and the outbox claim from. A conversation's replies go out in
-- order, so of its pending answered turns and replies only the oldest can be claimed;
-- a claim visits each conversation with pending rows once (a skip scan of these indexes)
-- and takes its oldest, plus the turns not yet answered. It used to scan every pending row
-- and ask of each whether an older one of its conversation was pending: behind a channel
-- that was down for minutes (thousands of answered turns waiting), every claim read the
-- whole backlog, the replicas' workers spent the database's CPU on that, and new turns
-- waited unanswered behind it.
CREATE INDEX channel_messages_pending_conv_idx ON channel_messages (conversation_id, log_id) WHERE state = 'pending';
CREATE INDEX channel_messages_unanswered_idx ON channel_messages (received_at) WHERE state = 'pending' AND outcome IS NULL;
CREATE INDEX outbox_pending_conv_idx ON outbox (conversation_id, id) WHERE state = 'pending';
CREATE INDEX outbox_pending_conv_msg_idx ON outbox (conversation_id, message_id) WHERE state = 'pending';

-- +goose Down
DROP INDEX outbox_pending_conv_msg_idx;
DROP INDEX outbox_pending_conv_idx;
DROP INDEX channel_messages_unanswered_idx;
DROP INDEX channel_messages_pending_conv_idx;
