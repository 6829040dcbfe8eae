-- +goose Up
-- Customer lookup in a company's CRM (issue 21): what the CRM knows of a customer (its
-- id, tier, tags, account and account owner; the name is sealed like any customer name,
-- in display_name_enc) and, per conversation, whether its customer was looked up.
-- Conversations opened while a CRM connector is configured are looked up once, by
-- whichever replica claims them first (crm_lease_until); a failed lookup is retried
-- until the conversation is an hour old.
ALTER TABLE customers ADD COLUMN crm jsonb;
ALTER TABLE conversations ADD COLUMN crm_checked_at timestamptz, ADD COLUMN crm_lease_until timestamptz;
CREATE INDEX conversations_crm_due_idx ON conversations (created_at) WHERE crm_checked_at IS NULL;

-- +goose Down
DROP INDEX conversations_crm_due_idx;
ALTER TABLE conversations DROP COLUMN crm_checked_at, DROP COLUMN crm_lease_until;
ALTER TABLE customers DROP COLUMN crm;
