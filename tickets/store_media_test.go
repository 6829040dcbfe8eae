package tickets

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestStashedMediaLifecycle: media stashed before the turn is recorded come back
// decrypted to the worker; resolving is fenced by the attempt; once resolved the message
// holds the new text, the vault the new secrets, and the stash is gone; a redelivery of
// a recorded turn stashes nothing; orphans older than the age are dropped.
func TestStashedMediaLifecycle(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	note := bytes.Repeat([]byte("OggS voice "), 100)
	if err := s.StashMedia(ctx, "telegram", "m1", []Media{{Part: 0, MIME: "audio/ogg", Data: note}}); err != nil {
		t.Fatal(err)
	}
	// a second stash of the same part (a redelivery before the first was recorded) is a no-op
	if err := s.StashMedia(ctx, "telegram", "m1", []Media{{Part: 0, MIME: "audio/ogg", Data: []byte("other")}}); err != nil {
		t.Fatal(err)
	}
	var enc []byte
	if err := pool.QueryRow(ctx, `SELECT data_enc FROM stashed_media WHERE message_id = 'm1'`).Scan(&enc); err != nil || bytes.Contains(enc, []byte("OggS")) {
		t.Fatalf("stored in the clear or missing: %v", err)
	}
	if _, err := s.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "m1", CustomerRef: "tg:1", Text: "hi\n[voice]"}); err != nil {
		t.Fatal(err)
	}
	p, ok, err := s.ClaimTurn(ctx, time.Minute, 0)
	if err != nil || !ok || p.MessageID == 0 {
		t.Fatalf("claim: %+v %v %v", p, ok, err)
	}
	got, err := s.StashedMedia(ctx, "telegram", "m1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]Media{{Part: 0, MIME: "audio/ogg", Data: note}}, got); d != "" {
		t.Fatal(d)
	}
	stale := p
	stale.Attempts--
	if err := s.ResolveMedia(ctx, stale, "stale", nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale attempt: %v, want ErrConflict", err)
	}
	secrets := []Secret{{Placeholder: "[PHONE_1]", Kind: "PHONE", Value: "13912345678"}}
	if err := s.ResolveMedia(ctx, p, "hi\nmy mobile is [PHONE_1]", secrets); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.ListMessages(ctx, p.ConversationID)
	if err != nil || len(msgs) != 1 || msgs[0].Text != "hi\nmy mobile is [PHONE_1]" {
		t.Fatalf("message %+v %v", msgs, err)
	}
	if v, err := s.RevealSecrets(ctx, p.ConversationID, p.MessageID); err != nil || !cmp.Equal(v, secrets) {
		t.Fatalf("vault %+v %v", v, err)
	}
	if got, err := s.StashedMedia(ctx, "telegram", "m1"); err != nil || len(got) != 0 {
		t.Fatalf("stash left: %d %v", len(got), err)
	}
	// redelivered after it was recorded: nothing is stashed again
	if err := s.StashMedia(ctx, "telegram", "m1", []Media{{Part: 0, Data: note}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.StashedMedia(ctx, "telegram", "m1"); len(got) != 0 {
		t.Fatal("a recorded turn's redelivery stashed its media again")
	}
	// an orphan (its turn never recorded) goes once it is old enough
	if err := s.StashMedia(ctx, "telegram", "never", []Media{{Part: 0, Data: note}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.dropOrphanMedia(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("young orphan dropped: %d %v", n, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE stashed_media SET created_at = now() - interval '2 hours'`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.dropOrphanMedia(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("orphan: %d %v", n, err)
	}
}
