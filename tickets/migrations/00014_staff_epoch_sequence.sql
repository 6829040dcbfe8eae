-- +goose Up
-- A sign-in's epoch comes from one sequence for all accounts, so that an account that is
-- deleted and created again never returns to an epoch its old tokens carry. Epochs
-- counted per account before this migration are small; the sequence starts 2^32 above
-- the largest one left, past any epoch a deleted account can have handed out.
CREATE SEQUENCE staff_account_epoch_seq AS bigint;
SELECT setval('staff_account_epoch_seq', coalesce((SELECT max(epoch) FROM staff_accounts), 0) + 4294967296);
ALTER TABLE staff_accounts ALTER COLUMN epoch SET DEFAULT nextval('staff_account_epoch_seq');
ALTER SEQUENCE staff_account_epoch_seq OWNED BY staff_accounts.epoch;

-- +goose Down
ALTER TABLE staff_accounts ALTER COLUMN epoch SET DEFAULT 1;
DROP SEQUENCE staff_account_epoch_seq;
