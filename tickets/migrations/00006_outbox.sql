-- +goose Up
-- Replies that must reach a customer's channel (an agent's reply to a
-- Telegram chat …), written in the same transaction as the reply itself and
-- delivered by the queue workers with retries.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    conversation_id uuid NOT NULL,
    channel         text NOT NULL,
    reply_to        jsonb,
    body            text NOT NULL, -- redacted text only
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        int NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE state = 'pending';

-- +goose Down
DROP TABLE outbox;
