-- +goose Up
-- The token vault: originals of redacted values, encrypted field by field
-- (AES-256-GCM under the key ring, bound to conversation, message and
-- placeholder). Only a permitted reveal decrypts them, and each is audited.
CREATE TABLE pii_vault (
    conversation_id uuid NOT NULL,
    message_id      bigint NOT NULL,
    placeholder     text NOT NULL,
    kind            text NOT NULL,
    value_enc       bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (message_id, placeholder)
);
CREATE INDEX pii_vault_conversation_idx ON pii_vault (conversation_id, message_id);

-- +goose Down
DROP TABLE pii_vault;
