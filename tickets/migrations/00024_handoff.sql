-- +goose Up
-- The bot's handoff summary of an escalated conversation (tickets.Handoff): why it
-- escalated, what the customer asked, the bot's best answer and its sources, the
-- customer's mood. Redacted text only.
ALTER TABLE tickets ADD COLUMN handoff jsonb;

-- +goose Down
ALTER TABLE tickets DROP COLUMN handoff;
