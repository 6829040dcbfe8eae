-- +goose Up
-- Display names are personal data: they are now kept encrypted (AES-256-GCM under the key
-- ring, bound to the row) with a blind index (HMAC) for exact, case-insensitive search.
-- The plaintext columns stay for rows written before; the application seals those
-- (tickets.SealNames) and leaves the columns empty from then on.
ALTER TABLE customers ADD COLUMN display_name_enc bytea, ADD COLUMN display_name_bidx bytea;
ALTER TABLE tickets ADD COLUMN customer_name_enc bytea, ADD COLUMN customer_name_bidx bytea;
DROP INDEX tickets_customer_name_lower_idx;
CREATE INDEX tickets_customer_name_bidx_idx ON tickets (customer_name_bidx) WHERE customer_name_bidx IS NOT NULL;
-- Plaintext names still to seal.
CREATE INDEX customers_plain_name_idx ON customers (id) WHERE display_name <> '';
CREATE INDEX tickets_plain_name_idx ON tickets (id) WHERE customer_name <> '';

-- Retention deletes by age; these indexes keep it from scanning whole tables.
CREATE INDEX pii_vault_created_idx ON pii_vault (created_at);
CREATE INDEX channel_messages_finished_idx ON channel_messages (received_at) WHERE state IN ('done', 'failed');
CREATE INDEX outbox_finished_idx ON outbox (created_at) WHERE state IN ('sent', 'failed');
CREATE INDEX messages_archive_created_idx ON messages_archive (created_at);
CREATE INDEX stashed_media_created_idx ON stashed_media (created_at);
-- Erasing a person finds their rows by customer.
CREATE INDEX channel_messages_customer_idx ON channel_messages (customer_id);
CREATE INDEX conversations_customer_idx ON conversations (customer_id);
CREATE INDEX tickets_customer_idx ON tickets (customer_id);
CREATE INDEX outbox_erase_idx ON outbox (conversation_id);

-- +goose Down
DROP INDEX outbox_erase_idx;
DROP INDEX tickets_customer_idx;
DROP INDEX conversations_customer_idx;
DROP INDEX channel_messages_customer_idx;
DROP INDEX stashed_media_created_idx;
DROP INDEX messages_archive_created_idx;
DROP INDEX outbox_finished_idx;
DROP INDEX channel_messages_finished_idx;
DROP INDEX pii_vault_created_idx;
DROP INDEX tickets_plain_name_idx;
DROP INDEX customers_plain_name_idx;
DROP INDEX tickets_customer_name_bidx_idx;
CREATE INDEX tickets_customer_name_lower_idx ON tickets (lower(customer_name) text_pattern_ops);
ALTER TABLE tickets DROP COLUMN customer_name_enc, DROP COLUMN customer_name_bidx;
ALTER TABLE customers DROP COLUMN display_name_enc, DROP COLUMN display_name_bidx;
