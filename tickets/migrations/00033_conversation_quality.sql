-- +goose Up
-- Quality inspection of a whole conversation (issue 21), taken when its ticket is
-- resolved (again when a reopened ticket is resolved again): the mean of its replies'
-- scores, the first response and later replies against the SLA's target, whether the
-- last reply closed, the customer's sentiment at the start and at the end (when a
-- sentiment model is loaded), the overall score and the reasons it was flagged. The
-- reasons name checks, cues and kinds of personal data; never the data.
CREATE TABLE conversation_quality (
    ticket_id                     uuid PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    agent_id                      text NOT NULL,
    group_id                      text NOT NULL DEFAULT '',
    score                         smallint NOT NULL CHECK (score BETWEEN 0 AND 100),
    reply_score                   smallint NOT NULL CHECK (reply_score BETWEEN 0 AND 100),
    replies                       integer NOT NULL,
    first_response_seconds        integer,
    first_response_target_seconds integer,
    reply_target_seconds          integer,
    slow_replies                  integer NOT NULL DEFAULT 0,
    closing                       boolean NOT NULL,
    sentiment_start               real,
    sentiment_end                 real,
    flagged                       boolean NOT NULL,
    reasons                       jsonb NOT NULL DEFAULT '[]',
    resolved_at                   timestamptz NOT NULL
);
CREATE INDEX conversation_quality_agent_idx ON conversation_quality (agent_id, resolved_at);
CREATE INDEX conversation_quality_resolved_idx ON conversation_quality (resolved_at);

-- +goose Down
DROP TABLE conversation_quality;
