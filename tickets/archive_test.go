package tickets

import (
	"context"
	"testing"
	"time"
)

func partitionOf(t *testing.T, s *Store, id int64) string {
	t.Helper()
	var name string
	if err := s.primary.QueryRow(context.Background(), `SELECT tableoid::regclass::text FROM messages WHERE id = $1`, id).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestPartitionsAndArchive(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	now := time.Now().UTC()
	c, err := s.UpsertCustomer(ctx, Customer{PseudonymousID: "c1"}, true)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, c.ID, "api")
	if err != nil {
		t.Fatal(err)
	}
	add := func(age time.Duration, text string) Message {
		m, err := s.AddMessage(ctx, Message{ConversationID: conv, Author: "customer", Text: text, CreatedAt: now.Add(-age)})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// Before any monthly partition exists, rows land in the default one.
	old := add(250*24*time.Hour, "old")
	mid := add(100*24*time.Hour, "mid")
	if p := partitionOf(t, s, old.ID); p != "messages_default" {
		t.Fatalf("old message in %s, want messages_default", p)
	}
	created, err := s.EnsurePartitions(ctx, now.Add(-260*24*time.Hour), now, 2)
	if err != nil {
		t.Fatal(err)
	}
	if created < 11 {
		t.Fatalf("created %d partitions, want ≥ 11 (8 past months, this one, 2 ahead)", created)
	}
	// Existing rows moved out of the default partition into their month.
	if p := partitionOf(t, s, mid.ID); p != partitionName(mid.CreatedAt) {
		t.Fatalf("mid message in %s, want %s", p, partitionName(mid.CreatedAt))
	}
	again, err := s.EnsurePartitions(ctx, now.Add(-260*24*time.Hour), now, 2)
	if err != nil || again != 0 {
		t.Fatalf("second EnsurePartitions created %d, err %v", again, err)
	}
	fresh := add(0, "fresh")
	if p := partitionOf(t, s, fresh.ID); p != partitionName(now) {
		t.Fatalf("fresh message in %s, want %s", p, partitionName(now))
	}

	moved, err := s.ArchiveMessages(ctx, now.Add(-180*24*time.Hour), 1)
	if err != nil {
		t.Fatal(err)
	}
	if moved != 1 {
		t.Fatalf("archived %d rows, want 1", moved)
	}
	var live, archived int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM messages_archive)`).Scan(&live, &archived); err != nil {
		t.Fatal(err)
	}
	if live != 2 || archived != 1 {
		t.Fatalf("live %d archived %d, want 2 and 1", live, archived)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, partitionName(old.CreatedAt)).Scan(&exists); err != nil || exists {
		t.Fatalf("partition %s of the archived month still exists (%v)", partitionName(old.CreatedAt), err)
	}
	// The transcript still reads whole, archived part first.
	msgs, err := s.ListMessages(ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	if len(texts) != 3 || texts[0] != "old" || texts[1] != "mid" || texts[2] != "fresh" {
		t.Fatalf("transcript %v, want [old mid fresh]", texts)
	}
}
