package tickets

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// TestRoutineRebuildIsNotAWarning: the first agent on a fresh install (a skill group was
// just created, which invalidates the routing state) rebuilds it quietly at info level;
// a state Redis lost is still a warning.
func TestRoutineRebuildIsNotAWarning(t *testing.T) {
	ts := newTestService(t)
	var logs syncBuffer
	ts.Router = NewRedisRouter(ts.rdb, RouterOptions{Prefix: ts.prefix, Snapshot: ts.Snapshot, Now: ts.clock.Now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	if _, err := ts.PutSkillGroup(ctx, "admin", SkillGroup{ID: "billing", Skills: []string{"refunds"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.PutAgent(ctx, "admin", Agent{ID: "alice", Groups: []string{"billing"}, Capacity: 2}); err != nil {
		t.Fatal(err)
	}
	got := logs.take()
	if strings.Contains(got, "level=WARN") || !strings.Contains(got, "level=INFO msg=\"routing state invalidated by a change") {
		t.Fatalf("first agent after a new group logged:\n%s", got)
	}
	r := ts.Router
	if err := r.dropState(ctx); err != nil { // what FLUSHALL does to this router
		t.Fatal(err)
	}
	if _, err := ts.PutAgent(ctx, "admin", Agent{ID: "bob", Groups: []string{"billing"}, Capacity: 1}); err != nil {
		t.Fatal(err)
	}
	if got := logs.take(); !strings.Contains(got, `level=WARN msg="routing state missing; rebuilding"`) {
		t.Fatalf("a lost routing state was not a warning:\n%s", got)
	}
	if n, _ := ts.rdb.Exists(ctx, r.staleKey()).Result(); n != 0 {
		t.Errorf("stale marker left after the rebuild")
	}
}
