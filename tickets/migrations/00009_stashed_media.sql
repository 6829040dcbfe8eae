-- +goose Up
-- Voice notes too long to transcribe before a channel is acknowledged wait
-- here, encrypted (AES-256-GCM under the key ring, bound to the channel
-- message and part), until a queue worker transcribes them. The turn's row
-- in channel_messages may not exist yet when a note is stashed (the stash
-- comes first, so an acknowledged turn never lacks its audio); a stash whose
-- turn never arrives is removed by the archiver after a day.
CREATE TABLE stashed_media (
    channel     text NOT NULL,
    message_id  text NOT NULL,
    part        int NOT NULL,
    mime        text NOT NULL DEFAULT '',
    data_enc    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, message_id, part)
);

-- +goose Down
DROP TABLE stashed_media;
