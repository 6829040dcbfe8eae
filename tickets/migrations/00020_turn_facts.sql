-- +goose Up
-- What a turn's ingress learned of its media that a later step needs (tickets.TurnFacts:
-- photo labels and support categories, voice notes waiting in the stash), stored as
-- fields of the pending turn instead of being parsed back from the transcript's markers,
-- which are for people. Pending turns from before are given theirs from those markers,
-- once, here.
ALTER TABLE channel_messages ADD COLUMN facts jsonb;
UPDATE channel_messages cm SET facts = jsonb_strip_nulls(jsonb_build_object(
        'voice_pending', CASE WHEN position('[voice message: transcribing]' IN m.body) > 0 THEN true END,
        'categories', (SELECT jsonb_agg(DISTINCT trim(c)) FROM regexp_matches(m.body, '\[photo: [^]|]*\| category: ([^]]*)\]', 'g') AS r,
            unnest(string_to_array(r[1], ',')) AS c WHERE trim(c) <> '')))
    FROM messages m
    WHERE cm.state = 'pending' AND m.id = cm.log_id AND m.conversation_id = cm.conversation_id
        AND (m.body LIKE '%[voice message: transcribing]%' OR m.body LIKE '%| category: %');

-- +goose Down
ALTER TABLE channel_messages DROP COLUMN facts;
