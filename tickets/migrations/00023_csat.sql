-- +goose Up
-- Customer satisfaction: when a ticket is resolved the customer is asked to rate it
-- (requested_at); a reply of 1 to 5, with an optional comment, is the rating. One per
-- ticket. The comment is the customer's redacted words.
CREATE TABLE csat_ratings (
    ticket_id uuid PRIMARY KEY REFERENCES tickets (id) ON DELETE CASCADE,
    customer_id uuid NOT NULL REFERENCES customers (id),
    agent_id text NOT NULL DEFAULT '',
    requested_at timestamptz NOT NULL DEFAULT now(),
    rating smallint CHECK (rating BETWEEN 1 AND 5),
    comment text NOT NULL DEFAULT '',
    rated_at timestamptz
);
CREATE INDEX csat_ratings_customer_idx ON csat_ratings (customer_id, requested_at);

-- +goose Down
DROP TABLE csat_ratings;
