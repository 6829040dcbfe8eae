-- +goose Up
-- Staff who sign in to the web console with a password (bcrypt). Tokens from an
-- identity provider (auth.jwks_file) need no row here.
CREATE TABLE staff_accounts (
    subject       text PRIMARY KEY,
    role          text NOT NULL,
    password_hash text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE staff_accounts;
