-- +goose Up
-- Revoked bearer tokens: one token by its id (jti), or every token of a subject issued
-- up to revoked_at. The gateway refuses them; a row is kept until every token it can
-- match has expired (keep_until), then it is pruned.
CREATE TABLE token_revocations (
    id         bigserial PRIMARY KEY,
    jti        text,
    subject    text,
    revoked_at timestamptz NOT NULL DEFAULT now(),
    keep_until timestamptz NOT NULL,
    revoked_by text NOT NULL,
    CHECK ((jti IS NULL) <> (subject IS NULL)),
    CHECK (length(jti) <= 200 AND length(subject) <= 200)
);
CREATE INDEX token_revocations_keep_until_idx ON token_revocations (keep_until);

-- +goose Down
DROP TABLE token_revocations;
