-- +goose Up
-- The audit chain is keyed from here on: each new event's hash is an HMAC-SHA256, under
-- a key derived from the key ring (key_id names it), of the previous hash and the event.
-- The application computes it after taking the chain lock with audit_chain_head(), so
-- nobody without the key ring can rewrite or recompute the chain. Events up to
-- audit_chain.legacy_until were chained with plain SHA-256 by earlier versions and keep
-- verifying that way; the switch point is recorded once, here, and in every anchor
-- exported outside PostgreSQL.
ALTER TABLE audit_events ADD COLUMN key_id text;

CREATE TABLE audit_chain (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    legacy_until bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_chain (legacy_until) SELECT coalesce(max(id), 0) FROM audit_events;

-- Nothing may change or empty the audit tables: TRUNCATE skips row triggers, so a
-- statement trigger refuses it.
-- +goose StatementBegin
CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_chain_guard BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

-- audit_chain_head takes the chain lock (held to the end of the transaction, so appends
-- are serialized and each links to the one before) and returns the latest event.
-- +goose StatementBegin
CREATE FUNCTION audit_chain_head(OUT head_id bigint, OUT head_hash bytea) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(91634222254420);
    SELECT id, hash INTO head_id, head_hash FROM audit_events ORDER BY id DESC LIMIT 1;
    head_id := coalesce(head_id, 0);
    head_hash := coalesce(head_hash, decode(repeat('00', 32), 'hex'));
END;
$$;
-- +goose StatementEnd

-- A new event must be keyed and link to the latest one (under the chain lock, taken
-- again here: the lock is re-entrant within a transaction).
-- +goose StatementBegin
CREATE FUNCTION audit_events_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head bytea;
BEGIN
    IF NEW.key_id IS NULL OR NEW.key_id = '' THEN
        RAISE EXCEPTION 'audit_events: a new event must be keyed (key_id)';
    END IF;
    PERFORM pg_advisory_xact_lock(91634222254420);
    SELECT hash INTO head FROM audit_events ORDER BY id DESC LIMIT 1;
    IF NEW.prev_hash IS DISTINCT FROM coalesce(head, decode(repeat('00', 32), 'hex')) THEN
        RAISE EXCEPTION 'audit_events: prev_hash is not the hash of the latest event';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_link BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_link();

-- The unkeyed append of earlier versions is gone.
DROP FUNCTION audit_append(timestamptz, text, text, text, json, bytea);

-- Retention removes a prefix of the chain, never the latest event, and only events the
-- row guard lets go (older than 180 days). It runs with the owner's rights, so the
-- application's role needs no DELETE on audit_events; the caller anchors the new first
-- event outside PostgreSQL before calling it.
-- +goose StatementBegin
CREATE FUNCTION audit_purge(p_before bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM audit_events WHERE id < p_before AND id < (SELECT max(id) FROM audit_events);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION audit_purge(bigint) FROM PUBLIC;

-- Monthly message partitions are made and dropped with the owner's rights, so the
-- application's role needs no DDL (see tickets/archive.go).
-- +goose StatementBegin
CREATE FUNCTION messages_ensure_partition(p_month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    name text := 'messages_p' || to_char(p_month, 'YYYYMM');
    lo timestamptz := date_trunc('month', p_month)::timestamp AT TIME ZONE 'UTC';
    hi timestamptz := (date_trunc('month', p_month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE;
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE messages INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format('WITH moved AS (DELETE FROM messages_default WHERE created_at >= %L AND created_at < %L RETURNING *)
        INSERT INTO %I SELECT * FROM moved', lo, hi, name);
    EXECUTE format('ALTER TABLE messages ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
    RETURN true;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION messages_ensure_partition(date) FROM PUBLIC;

-- +goose StatementBegin
CREATE FUNCTION messages_drop_partitions_before(p_cutoff timestamptz) RETURNS int
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    part text;
    month timestamptz;
    empty boolean;
    n int := 0;
BEGIN
    FOR part IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'messages'::regclass AND c.relname ~ '^messages_p[0-9]{6}$'
    LOOP
        month := to_timestamp(substr(part, 11), 'YYYYMM')::timestamp AT TIME ZONE 'UTC';
        CONTINUE WHEN month + interval '1 month' > p_cutoff;
        EXECUTE format('SELECT NOT EXISTS (SELECT 1 FROM %I)', part) INTO empty;
        CONTINUE WHEN NOT empty; -- rows arrived after the move; the next run takes them
        EXECUTE format('DROP TABLE IF EXISTS %I', part);
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION messages_drop_partitions_before(timestamptz) FROM PUBLIC;

-- +goose Down
DROP FUNCTION messages_drop_partitions_before(timestamptz);
DROP FUNCTION messages_ensure_partition(date);
DROP FUNCTION audit_purge(bigint);
DROP TRIGGER audit_events_link ON audit_events;
DROP FUNCTION audit_events_link();
DROP FUNCTION audit_chain_head();
DROP TRIGGER audit_events_no_truncate ON audit_events;
DROP TABLE audit_chain;
DROP FUNCTION audit_refuse();
ALTER TABLE audit_events DROP COLUMN key_id;
-- +goose StatementBegin
CREATE FUNCTION audit_append(p_at timestamptz, p_actor text, p_action text, p_target text, p_detail json, p_tail bytea)
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    prev bytea;
    new_id bigint;
BEGIN
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
