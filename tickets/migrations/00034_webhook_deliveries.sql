-- +goose Up
-- Outbound webhooks (tickets/webhooks): every event sent to an endpoint is one delivery,
-- unique by endpoint and event id, so replicas and restarts never queue it twice. A
-- delivery is pending until a 2xx answer (delivered) or until it gives up (failed: its
-- attempts ran out, or the endpoint answered 410 Gone). A pending delivery is claimed
-- when next_attempt_at is due (FOR UPDATE SKIP LOCKED), which moves next_attempt_at
-- past the attempt (a lease: a replica that dies mid-attempt leaves it to be retried).
-- Payloads carry ids, statuses and scores; last_error never carries a secret.
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    endpoint         text NOT NULL,
    event_type       text NOT NULL,
    event_id         text NOT NULL,
    payload          jsonb NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (endpoint, event_id)
);
-- The claims: an endpoint's pending deliveries, oldest first.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint, id) WHERE status = 'pending';
-- Whether an event was queued already (CSAT and quality scores are read again within
-- an overlap window).
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

-- Where the dispatcher stands in each event source: position is the last audit event
-- read ('audit'); at is how far the time-ordered sources ('csat', 'qa') were read.
-- created_at is when webhooks were first enabled: nothing older is sent. A replica
-- reads a source only while it holds the source's row lock (FOR UPDATE SKIP LOCKED),
-- and queues the deliveries in that transaction.
CREATE TABLE webhook_cursors (
    source     text PRIMARY KEY,
    position   bigint NOT NULL DEFAULT 0,
    at         timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The time-ordered sources' reads.
CREATE INDEX csat_ratings_rated_idx ON csat_ratings (rated_at) WHERE rated_at IS NOT NULL;
CREATE INDEX reply_quality_created_idx ON reply_quality (created_at);

-- +goose Down
DROP INDEX reply_quality_created_idx;
DROP INDEX csat_ratings_rated_idx;
DROP TABLE webhook_cursors;
DROP TABLE webhook_deliveries;
