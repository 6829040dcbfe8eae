-- +goose Up
-- Delivery that survives outages and crashes, and agent replies as written.
--
-- Retries: a row is retried with backoff until retry_since (or its creation) plus
-- queue.retry_for, then it becomes a dead letter (state failed) that
-- `switchboard outbox retry` re-queues. attempts_settled is the last attempt that
-- reported back (failed or finished); a claim whose lease ran out while attempts was
-- ahead of it was abandoned (the worker crashed or hung), and abandoned counts those:
-- after queue.max_abandoned the row is given up instead of crashing workers forever.
ALTER TABLE channel_messages
    ADD COLUMN retry_since      timestamptz,
    ADD COLUMN attempts_settled int NOT NULL DEFAULT 0,
    ADD COLUMN abandoned        int NOT NULL DEFAULT 0;
UPDATE channel_messages SET attempts_settled = attempts WHERE state = 'pending';
CREATE INDEX channel_messages_failed_idx ON channel_messages (channel) WHERE state = 'failed';

-- outbox.body stays the redacted text (what staff and logs see). An agent's original
-- text, when redaction changed it, waits in original_enc, sealed under the key ring
-- (AES-256-GCM) with the additional data 'outbox.original_enc:<conversation id>:<message id>',
-- and is set to NULL by the statement that marks the row sent. message_id is the
-- agent's message in the conversation log (the ticket transcript shows its delivery).
ALTER TABLE outbox
    ADD COLUMN message_id       bigint,
    ADD COLUMN original_enc     bytea,
    ADD COLUMN retry_since      timestamptz,
    ADD COLUMN attempts_settled int NOT NULL DEFAULT 0,
    ADD COLUMN abandoned        int NOT NULL DEFAULT 0;
UPDATE outbox SET attempts_settled = attempts;
CREATE INDEX outbox_conversation_idx ON outbox (conversation_id) WHERE message_id IS NOT NULL;
CREATE INDEX outbox_failed_idx ON outbox (channel) WHERE state = 'failed';

-- Originals of agent replies on channels the customer reads (REST, web chat): sealed
-- like the outbox's, with 'held_originals.body_enc:<conversation id>:<message id>'.
-- Only the customer who owns the conversation reads them. expires_at is the end of
-- the hold: queue.original_retention after the reply while unread, then
-- queue.original_read_grace after the customer's first read; expired rows are deleted.
CREATE TABLE held_originals (
    message_id      bigint PRIMARY KEY,
    conversation_id uuid NOT NULL,
    body_enc        bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    first_read_at   timestamptz,
    expires_at      timestamptz NOT NULL
);
CREATE INDEX held_originals_conversation_idx ON held_originals (conversation_id);
CREATE INDEX held_originals_expires_idx ON held_originals (expires_at);

-- +goose Down
DROP TABLE held_originals;
DROP INDEX outbox_failed_idx;
DROP INDEX outbox_conversation_idx;
ALTER TABLE outbox DROP COLUMN message_id, DROP COLUMN original_enc, DROP COLUMN retry_since,
    DROP COLUMN attempts_settled, DROP COLUMN abandoned;
DROP INDEX channel_messages_failed_idx;
ALTER TABLE channel_messages DROP COLUMN retry_since, DROP COLUMN attempts_settled, DROP COLUMN abandoned;
