-- +goose Up
-- Reply assist reads the latest resolutions (PastResolutions): newest resolved first.
CREATE INDEX tickets_resolved_idx ON tickets (resolved_at DESC) WHERE status IN ('resolved', 'closed') AND resolved_at IS NOT NULL;

-- +goose Down
DROP INDEX tickets_resolved_idx;
