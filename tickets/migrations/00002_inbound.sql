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
    PRIMARY KEY (channel, message_id)
);

-- +goose Down
DROP TABLE channel_messages;
