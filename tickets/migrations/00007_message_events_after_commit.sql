-- +goose Up
-- NOTIFY inside a writing transaction serializes every such commit (the
-- notification queue lock is held through the WAL flush). Message events are
-- now sent after commit by the writer, in a transaction of their own.
DROP TRIGGER messages_notify ON messages;
DROP FUNCTION messages_notify();

-- +goose Down
-- +goose StatementBegin
CREATE FUNCTION messages_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_events', json_build_object('type', 'message.created',
        'conversation_id', NEW.conversation_id, 'message_id', NEW.id, 'author', NEW.author)::text);
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER messages_notify AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION messages_notify();
