-- +goose Up
-- Appends one audit event in one statement: the chain lock, the read of the
-- previous hash and the insert run inside the server, so the lock that
-- serializes appends is no longer held across client round trips (it is
-- still held to the end of the transaction, so the next append sees this
-- row as its predecessor). The caller computes everything the hash covers
-- except the previous hash (tail); hash = sha256(prev_hash || tail), the
-- same as the application's own verification. A volatile function reads
-- with a fresh snapshot per statement, so the read after the lock sees the
-- latest committed event.
-- +goose StatementBegin
CREATE FUNCTION audit_append(p_at timestamptz, p_actor text, p_action text, p_target text, p_detail json, p_tail bytea)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    prev bytea;
    new_id bigint;
BEGIN
    -- The key is "SWADIT", the one earlier versions take from the application.
    PERFORM pg_advisory_xact_lock(91634222254420);
    SELECT hash INTO prev FROM audit_events ORDER BY id DESC LIMIT 1;
    prev := coalesce(prev, decode(repeat('00', 32), 'hex'));
    INSERT INTO audit_events (at, actor, action, target, detail, prev_hash, hash)
    VALUES (p_at, p_actor, p_action, p_target, p_detail, prev, sha256(prev || p_tail))
    RETURNING id INTO new_id;
    RETURN new_id;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION audit_append(timestamptz, text, text, text, json, bytea);
