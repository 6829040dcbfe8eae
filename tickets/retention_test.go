package tickets

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRetentionRemovesWhatIsOld: each table loses exactly its rows older than the
// policy's age (pending queue rows and the media of pending turns stay), counted in the
// metric; a second replica finds the lock taken; a zero age keeps everything.
func TestRetentionRemovesWhatIsOld(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	old := func(table, col, where string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `UPDATE `+table+` SET `+col+` = now() - interval '400 days' WHERE `+where); err != nil {
			t.Fatal(err)
		}
	}
	record := func(id string, secret bool) InboundResult {
		t.Helper()
		in := Inbound{Channel: "telegram", ChannelMessageID: id, CustomerRef: "tg:1", Text: "t"}
		if secret {
			in.Text, in.Secrets = "[EMAIL_1]", []Secret{{Placeholder: "[EMAIL_1]", Kind: "email", Value: "a@b.c"}}
		}
		if err := s.StashMedia(ctx, "telegram", id, []Media{{Part: 1, MIME: "audio/ogg", Data: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
		r, err := s.RecordInbound(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	record("done-old", true)
	record("pending-old", true)
	record("done-new", true)
	if _, err := pool.Exec(ctx, `UPDATE channel_messages SET state = 'done' WHERE message_id IN ('done-old', 'done-new')`); err != nil {
		t.Fatal(err)
	}
	old("channel_messages", "received_at", "message_id IN ('done-old', 'pending-old')")
	old("stashed_media", "created_at", "message_id IN ('done-old', 'pending-old')")
	old("pii_vault", "created_at", "message_id = (SELECT log_id FROM channel_messages WHERE message_id = 'done-old')")
	if err := s.StashMedia(ctx, "telegram", "never-recorded", []Media{{Part: 1, Data: []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	old("stashed_media", "created_at", "message_id = 'never-recorded'")
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (conversation_id, channel, body, state, created_at) VALUES
		(gen_random_uuid(), 'telegram', 'a', 'sent', now() - interval '400 days'),
		(gen_random_uuid(), 'telegram', 'b', 'pending', now() - interval '400 days'),
		(gen_random_uuid(), 'telegram', 'c', 'failed', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO messages_archive (id, conversation_id, author, body, created_at) VALUES
		(1, gen_random_uuid(), 'customer', 'old', now() - interval '800 days'), (2, gen_random_uuid(), 'customer', 'new', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO ticket_attachments (id, conversation_id, message_id, author, filename, mime, size_bytes, data_enc, created_at)
		SELECT gen_random_uuid(), c.id, 1, 'agent:alice', 'a.png', 'image/png', 1, '\x00', at
		FROM (SELECT id FROM conversations LIMIT 1) c, (VALUES (now() - interval '800 days'), (now())) AS v(at)`); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int64 {
		out := map[string]int64{}
		for _, tbl := range []string{"pii_vault", "stashed_media", "channel_messages", "outbox", "messages_archive", "ticket_attachments"} {
			var n int64
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+tbl).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[tbl] = n
		}
		return out
	}
	keep := NewRetention(s, RetentionPolicy{}, nil, nil, nil)
	if removed, ran, err := keep.RunOnce(ctx); err != nil || !ran || total(removed) != 0 {
		t.Fatalf("a zero policy removed %v (%v, %v)", removed, ran, err)
	}
	before := counts()
	reg := prometheus.NewRegistry()
	day := 24 * time.Hour
	r := NewRetention(s, RetentionPolicy{Vault: 90 * day, Queue: 30 * day, Archive: 730 * day, Media: day}, nil, nil, reg)
	// Another replica holds the lock: this one skips.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, retentionLock); err != nil {
		t.Fatal(err)
	}
	if _, ran, err := r.RunOnce(ctx); err != nil || ran {
		t.Fatalf("ran %v, %v while another replica held the lock", ran, err)
	}
	conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, retentionLock) //nolint:errcheck
	conn.Release()
	removed, ran, err := r.RunOnce(ctx)
	if err != nil || !ran {
		t.Fatal(ran, err)
	}
	want := map[string]int64{"pii_vault": 1, "stashed_media": 2, "channel_messages": 1, "outbox": 1, "messages_archive": 1,
		"ticket_attachments": 1}
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	after := counts()
	for tbl, n := range want {
		if before[tbl]-after[tbl] != n {
			t.Errorf("%s: %d rows before, %d after; want %d fewer", tbl, before[tbl], after[tbl], n)
		}
	}
	if got := testutil.ToFloat64(r.deleted.WithLabelValues("stashed_media")); got != 2 {
		t.Errorf("metric for stashed_media = %g, want 2", got)
	}
	var pendingMedia int
	pool.QueryRow(ctx, `SELECT count(*) FROM stashed_media WHERE message_id = 'pending-old'`).Scan(&pendingMedia) //nolint:errcheck
	if pendingMedia != 1 {
		t.Error("the media of a pending turn was removed")
	}
}

// TestRetentionPurgesTheAuditLogAfterAnchoring: with an audit age the job anchors the
// boundary, purges, and the chain still verifies.
func TestRetentionPurgesTheAuditLogAfterAnchoring(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	auditClock = func() time.Time { return time.Now().Add(-300 * 24 * time.Hour) }
	appendN(t, s, 3, "old")
	auditClock = time.Now
	appendN(t, s, 2, "new")
	a := NewAnchorer(s, AnchorOptions{File: filepath.Join(t.TempDir(), "anchors.jsonl")})
	r := NewRetention(s, RetentionPolicy{Audit: 200 * 24 * time.Hour}, a, nil, nil)
	removed, _, err := r.RunOnce(ctx)
	if err != nil || removed["audit_events"] != 3 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	if rep, err := a.Verify(ctx); err != nil || rep.Checked != 2 {
		t.Fatalf("verify %+v, %v", rep, err)
	}
}
