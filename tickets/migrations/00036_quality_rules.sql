-- +goose Up
-- Quality inspection rules edited on the admin page (issue 21): one YAML rule set in
-- quality.rules_file's format, which takes the place of the file while it is here.
-- Each save raises version; every replica picks the new rules up within seconds.
CREATE TABLE quality_rules (
    id         smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    rules      text NOT NULL,
    version    bigint NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE quality_rules;
