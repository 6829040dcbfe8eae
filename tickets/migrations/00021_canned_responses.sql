-- +goose Up
-- Canned responses: replies an agent inserts by a shortcut ("/refund"), shared by the
-- team (owner '') or an agent's own (owner = the agent's id), each in a language
-- ('' for any) — the same shortcut may have a Chinese and an English variant. The
-- body may hold {{customer.name}}, {{agent.name}} and {{ticket.id}}, filled in when the
-- response is inserted into a reply.
CREATE TABLE canned_responses (
    id bigserial PRIMARY KEY,
    owner text NOT NULL DEFAULT '',
    shortcut text NOT NULL,
    lang text NOT NULL DEFAULT '' CHECK (lang IN ('', 'zh', 'en')),
    title text NOT NULL,
    body text NOT NULL,
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner, shortcut, lang)
);

-- +goose Down
DROP TABLE canned_responses;
