-- +goose Up
-- Merged duplicates (tickets.Service.Merge): the duplicate is closed with merged_into
-- naming the ticket that carries on; its conversation stays where it is (the
-- survivor's detail lists it), so the redacted transcript and the audit chain are
-- untouched. Notes are copied to the survivor with merged_from naming the duplicate;
-- the copies go with it when the duplicate's customer is erased.
ALTER TABLE tickets ADD COLUMN merged_into uuid REFERENCES tickets (id) ON DELETE SET NULL;
CREATE INDEX tickets_merged_into_idx ON tickets (merged_into) WHERE merged_into IS NOT NULL;
ALTER TABLE ticket_notes ADD COLUMN merged_from uuid REFERENCES tickets (id) ON DELETE CASCADE;

-- Files and images an agent sends a customer (tickets.Service.SendAttachment): the
-- content encrypted under the key ring (bound to the row's id and conversation), the
-- sniffed type, and the sanitized, redacted file name. message_id is the conversation
-- message that shows it (messages are partitioned: no foreign key).
CREATE TABLE ticket_attachments (
    id              uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    ticket_id       uuid REFERENCES tickets (id) ON DELETE SET NULL,
    message_id      bigint NOT NULL,
    author          text NOT NULL,
    filename        text NOT NULL,
    mime            text NOT NULL,
    size_bytes      int NOT NULL CHECK (size_bytes > 0),
    data_enc        bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_attachments_message_idx ON ticket_attachments (conversation_id, message_id);

-- +goose Down
DROP TABLE ticket_attachments;
ALTER TABLE ticket_notes DROP COLUMN merged_from;
ALTER TABLE tickets DROP COLUMN merged_into;
