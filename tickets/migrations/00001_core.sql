-- +goose Up
CREATE TABLE customers (
    id              uuid PRIMARY KEY,
    pseudonymous_id text NOT NULL UNIQUE,
    display_name    text NOT NULL DEFAULT '',
    vip_tier        smallint NOT NULL DEFAULT 0 CHECK (vip_tier BETWEEN 0 AND 3),
    email_enc       bytea,
    email_bidx      bytea,
    phone_enc       bytea,
    phone_bidx      bytea,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_email_bidx ON customers (email_bidx) WHERE email_bidx IS NOT NULL;
CREATE INDEX customers_phone_bidx ON customers (phone_bidx) WHERE phone_bidx IS NOT NULL;

CREATE TABLE conversations (
    id          uuid PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id),
    channel     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Messages hold redacted text only and are partitioned by month; the archive
-- job moves rows older than the retention window into messages_archive.
CREATE TABLE messages (
    id              bigserial,
    conversation_id uuid NOT NULL,
    author          text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE messages_default PARTITION OF messages DEFAULT;
CREATE INDEX messages_conversation_idx ON messages (conversation_id, created_at);

CREATE TABLE messages_archive (
    id              bigint NOT NULL,
    conversation_id uuid NOT NULL,
    author          text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL,
    archived_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
);
CREATE INDEX messages_archive_conversation_idx ON messages_archive (conversation_id, created_at);

CREATE TABLE skill_groups (
    id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    name       text NOT NULL,
    skills     text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
    id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    name       text NOT NULL,
    skills     text[] NOT NULL DEFAULT '{}',
    groups     text[] NOT NULL DEFAULT '{}',
    capacity   int NOT NULL DEFAULT 3 CHECK (capacity BETWEEN 0 AND 100),
    status     text NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'away', 'offline')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sla_policies (
    priority               text PRIMARY KEY CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    first_response_minutes int NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes     int NOT NULL CHECK (resolution_minutes > 0),
    timezone               text NOT NULL DEFAULT 'UTC',
    business_days          int[] NOT NULL DEFAULT '{1,2,3,4,5}',
    business_start         time,
    business_end           time,
    CHECK ((business_start IS NULL) = (business_end IS NULL)),
    CHECK (business_start IS NULL OR business_start < business_end)
);
INSERT INTO sla_policies (priority, first_response_minutes, resolution_minutes, business_start, business_end) VALUES
    ('urgent', 15, 240, NULL, NULL),
    ('high', 60, 480, NULL, NULL),
    ('normal', 240, 1440, '09:00', '18:00'),
    ('low', 480, 2880, '09:00', '18:00');

CREATE TABLE routing_weights (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    vip        double precision NOT NULL CHECK (vip >= 0),
    skill      double precision NOT NULL CHECK (skill >= 0),
    load       double precision NOT NULL CHECK (load >= 0),
    wait       double precision NOT NULL CHECK (wait >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tickets (
    id                         uuid PRIMARY KEY,
    customer_id                uuid NOT NULL REFERENCES customers (id),
    customer_name              text NOT NULL DEFAULT '',
    conversation_id            uuid NOT NULL REFERENCES conversations (id),
    subject                    text NOT NULL DEFAULT '',
    status                     text NOT NULL CHECK (status IN ('open', 'assigned', 'pending', 'resolved', 'closed')),
    priority                   text NOT NULL CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    skills                     text[] NOT NULL DEFAULT '{}',
    group_id                   text REFERENCES skill_groups (id),
    assignee                   text REFERENCES agents (id),
    vip_tier                   smallint NOT NULL DEFAULT 0,
    version                    bigint NOT NULL DEFAULT 1,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    first_response_due         timestamptz,
    resolution_due             timestamptz,
    claimed_at                 timestamptz,
    first_response_at          timestamptz,
    resolved_at                timestamptz,
    closed_at                  timestamptz,
    first_response_breached_at timestamptz,
    resolution_breached_at     timestamptz
);
-- Ticket lists: a time window filtered by status and assignee.
CREATE INDEX tickets_list_idx ON tickets (created_at, status, assignee);
-- Case-insensitive customer name search (equality and prefix).
CREATE INDEX tickets_customer_name_lower_idx ON tickets (lower(customer_name) text_pattern_ops);
-- The open backlog, oldest first.
CREATE INDEX tickets_open_idx ON tickets (created_at) WHERE status = 'open';
-- Load per agent and the routing rebuild.
CREATE INDEX tickets_active_assignee_idx ON tickets (assignee) WHERE status IN ('assigned', 'pending');

CREATE TABLE assignments (
    id         bigserial PRIMARY KEY,
    ticket_id  uuid NOT NULL REFERENCES tickets (id),
    agent_id   text NOT NULL,
    group_id   text NOT NULL DEFAULT '',
    reason     text NOT NULL,
    score      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assignments_ticket_idx ON assignments (ticket_id, created_at);

-- The audit log is append-only and hash-chained: each row's hash covers the
-- previous row's hash. Rows are immutable and kept at least 180 days.
CREATE TABLE audit_events (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text NOT NULL,
    action    text NOT NULL,
    target    text NOT NULL DEFAULT '',
    detail    json NOT NULL DEFAULT '{}', -- json keeps the exact text the hash covers
    prev_hash bytea NOT NULL,
    hash      bytea NOT NULL UNIQUE
);

-- +goose StatementBegin
CREATE FUNCTION audit_events_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit_events is append-only';
    END IF;
    IF OLD.at > now() - interval '180 days' THEN
        RAISE EXCEPTION 'audit_events rows are retained for 180 days';
    END IF;
    RETURN OLD;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_guard BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_guard();

-- +goose Down
DROP TABLE audit_events;
DROP FUNCTION audit_events_guard();
DROP TABLE assignments;
DROP TABLE tickets;
DROP TABLE routing_weights;
DROP TABLE sla_policies;
DROP TABLE agents;
DROP TABLE skill_groups;
DROP TABLE messages_archive;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE customers;
