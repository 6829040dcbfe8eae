-- +goose Up
-- An administrator may disable a staff sign-in without deleting it (PUT
-- /v1/staff/:id/disabled): a disabled account cannot sign in, and the change moves its
-- epoch on, so the tokens it gave out are refused. NULL: the account is enabled.
ALTER TABLE staff_accounts ADD COLUMN disabled_at timestamptz;

-- +goose Down
ALTER TABLE staff_accounts DROP COLUMN disabled_at;
