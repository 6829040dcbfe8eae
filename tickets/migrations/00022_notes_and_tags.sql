-- +goose Up
-- Tags on tickets ("refund", "vip-complaint"), and agents' internal notes on a ticket,
-- which the customer never sees (they are not conversation messages) and which may
-- mention agents ("@bob"), who are told. A note's text is redacted like a reply.
ALTER TABLE tickets ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX tickets_tags_idx ON tickets USING gin (tags);

CREATE TABLE ticket_notes (
    id bigserial PRIMARY KEY,
    ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author text NOT NULL,
    body text NOT NULL,
    mentions text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_notes_ticket_idx ON ticket_notes (ticket_id, id);

-- +goose Down
DROP TABLE ticket_notes;
ALTER TABLE tickets DROP COLUMN tags;
