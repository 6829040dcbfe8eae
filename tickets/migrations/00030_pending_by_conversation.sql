-- +goose Up
-- A conversation's pending turns and replies, oldest first. Every claim of the turn
-- queue and the outbox asks, for each candidate, whether an older turn or reply of its
-- conversation is still pending (a customer gets the replies in order), and every
-- answered turn asks it once more before sending (ReplyDue). They ask for the oldest
-- pending entry of the conversation, the first entry of these indexes. Without them each
-- question read the pending rows of every conversation: behind a channel that was down
-- for minutes (1,300 rows in 6 chats), a claim that found nothing took 68–100 ms of the
-- database's CPU, and the idle workers of three replicas claim 60 times a second.
CREATE INDEX channel_messages_pending_conv_idx ON channel_messages (conversation_id, log_id) WHERE state = 'pending';
CREATE INDEX outbox_pending_conv_idx ON outbox (conversation_id, id) WHERE state = 'pending';
CREATE INDEX outbox_pending_conv_msg_idx ON outbox (conversation_id, message_id) WHERE state = 'pending';

-- +goose Down
DROP INDEX outbox_pending_conv_msg_idx;
DROP INDEX outbox_pending_conv_idx;
DROP INDEX channel_messages_pending_conv_idx;
