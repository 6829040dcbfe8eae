-- +goose Up
-- A channel's thread (a Telegram chat, a Slack thread or DM, a WeCom user) keeps one
-- conversation going: a message continues the customer's latest conversation on that
-- thread while it has an open ticket or was active within the idle window.
ALTER TABLE conversations ADD COLUMN thread text, ADD COLUMN last_message_at timestamptz;
CREATE INDEX conversations_thread_idx ON conversations (customer_id, channel, thread, last_message_at DESC)
    WHERE thread IS NOT NULL;

-- +goose Down
DROP INDEX conversations_thread_idx;
ALTER TABLE conversations DROP COLUMN thread, DROP COLUMN last_message_at;
