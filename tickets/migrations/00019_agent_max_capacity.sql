-- +goose Up
-- The most an agent may raise their own capacity to; supervisors set it (the
-- application writes the capacity they set unless they give a maximum). Agents may
-- lower their capacity and raise it again up to it. Existing agents start at their
-- capacity; the default only serves rows inserted by hand.
ALTER TABLE agents ADD COLUMN max_capacity int NOT NULL DEFAULT 100;
UPDATE agents SET max_capacity = capacity;
ALTER TABLE agents ADD CONSTRAINT agents_max_capacity_check
    CHECK (max_capacity BETWEEN 0 AND 100 AND capacity <= max_capacity);

-- +goose Down
ALTER TABLE agents DROP COLUMN max_capacity;
