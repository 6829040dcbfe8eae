-- +goose Up
-- Quality inspection of agents' replies (issue 21): each reply's score and findings as
-- the deployment's rules judged it when it was sent. A finding names its check, the
-- rule's cue that matched and, for personal data typed out, its kind; never the data.
CREATE TABLE reply_quality (
    message_id bigint PRIMARY KEY,
    ticket_id  uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    agent_id   text NOT NULL,
    group_id   text NOT NULL DEFAULT '',
    position   text NOT NULL CHECK (position IN ('first', 'middle')),
    score      smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    findings   jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reply_quality_agent_idx ON reply_quality (agent_id, created_at);
CREATE INDEX reply_quality_ticket_idx ON reply_quality (ticket_id);

-- +goose Down
DROP TABLE reply_quality;
