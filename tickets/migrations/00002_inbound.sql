-- +goose Up
-- Every channel message processed, keyed by the channel's own message id:
-- a redelivered webhook or a retried request finds its row and is answered
-- from the stored outcome instead of being processed twice.
CREATE TABLE channel_messages (
    channel         text NOT NULL,
    message_id      text NOT NULL,
    conversation_id uuid NOT NULL REFERENCES conversations (id),
    customer_id     uuid NOT NULL REFERENCES customers (id),
    log_id          bigint NOT NULL,
    outcome         jsonb,
    received_at     timestamptz NOT NULL DEFAULT now(),
    -- The durable work queue: a turn is 'pending' from the moment it is stored
    -- until a worker has answered it; a crashed worker's lease runs out.
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts        int NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    last_error      text,
    PRIMARY KEY (channel, message_id)
);
CREATE INDEX channel_messages_pending_idx ON channel_messages (received_at) WHERE state = 'pending';

-- Where replies to a conversation go: the channel's own address (chat id,
-- Slack channel and thread, callback URL …).
ALTER TABLE conversations ADD COLUMN reply_to jsonb;

-- +goose Down
ALTER TABLE conversations DROP COLUMN reply_to;
DROP TABLE channel_messages;
