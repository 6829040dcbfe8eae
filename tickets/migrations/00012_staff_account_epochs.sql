-- +goose Up
-- A sign-in's epoch is carried by the tokens it issues; changing the account (a new
-- password or role) bumps it, and deleting the account removes it, so the tokens it
-- gave out stop working.
ALTER TABLE staff_accounts ADD COLUMN epoch bigint NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE staff_accounts DROP COLUMN epoch;
