package tickets

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// TestReplicaPick: which pool a read goes to, by what the monitor knows of the
// replica and whether the read's principal just wrote.
func TestReplicaPick(t *testing.T) {
	now := time.Now()
	wrote := now.Add(-time.Second)
	for _, tc := range []struct {
		name      string
		monitored bool
		freshAsOf time.Time
		lag       time.Duration
		down      bool
		readAfter *time.Time
		want      string
		counted   ReplicaStats
	}{
		{name: "no monitor, no write", want: "replica", counted: ReplicaStats{Replica: 1}},
		{name: "no monitor, just wrote", readAfter: &wrote, want: "primary", counted: ReplicaStats{Fresh: 1}},
		{name: "replayed past the write", monitored: true, freshAsOf: now, lag: 10 * time.Millisecond, readAfter: &wrote,
			want: "replica", counted: ReplicaStats{Replica: 1}},
		{name: "not yet replayed the write", monitored: true, freshAsOf: wrote.Add(-time.Millisecond), lag: time.Second,
			readAfter: &wrote, want: "primary", counted: ReplicaStats{Fresh: 1}},
		{name: "behind, but no write of the reader", monitored: true, freshAsOf: now.Add(-2 * time.Second), lag: 2 * time.Second,
			want: "replica", counted: ReplicaStats{Replica: 1}},
		{name: "lags beyond ReplicaMaxLag", monitored: true, freshAsOf: now.Add(-ReplicaMaxLag - time.Second), lag: ReplicaMaxLag + time.Second,
			want: "primary", counted: ReplicaStats{Lagging: 1}},
		{name: "monitor silent for too long", monitored: true, freshAsOf: now.Add(-ReplicaMaxLag - 2*time.Second), lag: 0,
			want: "primary", counted: ReplicaStats{Lagging: 1}},
		{name: "down", monitored: true, freshAsOf: now, down: true, want: "primary", counted: ReplicaStats{Down: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			primary, replica := new(pgxpool.Pool), new(pgxpool.Pool)
			r := &replicaReads{primary: primary, replica: replica, monitored: tc.monitored, freshAsOf: tc.freshAsOf, lag: tc.lag}
			if tc.down {
				r.downUntil = time.Now().Add(time.Minute)
			}
			ctx := context.Background()
			if tc.readAfter != nil {
				ctx = ReadAfter(ctx, *tc.readAfter)
			}
			pool, onReplica := r.pick(ctx)
			got := map[*pgxpool.Pool]string{primary: "primary", replica: "replica"}[pool]
			if got != tc.want || onReplica != (tc.want == "replica") {
				t.Errorf("read went to the %s (onReplica %v); want the %s", got, onReplica, tc.want)
			}
			if diff := cmp.Diff(tc.counted, (&storeCore{reads: r}).ReplicaStats()); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
		})
	}
	single := new(pgxpool.Pool)
	if pool, onReplica := (&replicaReads{primary: single, replica: single}).pick(context.Background()); pool != single || onReplica {
		t.Error("without a replica a read must go to the primary")
	}
}

// TestReplicaUnreachableFallsBackToPrimary: with the replica unreachable every read
// is answered by the primary, none fails; the replica is then left alone for a while.
func TestReplicaUnreachableFallsBackToPrimary(t *testing.T) {
	primary := migratedPool(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(primary.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = "127.0.0.1", 1 // nothing listens there
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	dead, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	s := NewStore(primary, dead, testKeyRing(t))
	seedStore := NewStore(primary, nil, testKeyRing(t))
	c, err := seedStore.UpsertCustomer(ctx, Customer{PseudonymousID: "fallback", DisplayName: "Fallback"}, true)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := seedStore.CreateConversation(ctx, c.ID, "api")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seedStore.InsertTicket(ctx, Ticket{CustomerID: c.ID, CustomerName: "Fallback", ConversationID: conv, Status: StatusOpen,
		Priority: PriorityNormal, CreatedAt: time.Now()}, nil, false); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListTickets(ctx, TicketFilter{}) // Query
	if err != nil || len(list) != 1 {
		t.Fatalf("list with the replica down: %d tickets, %v; want the primary's 1", len(list), err)
	}
	var n int
	if err := s.reads.QueryRow(ctx, `SELECT count(*) FROM tickets`).Scan(&n); err != nil || n != 1 { // QueryRow, now within replicaRetry
		t.Fatalf("count with the replica down: %d, %v", n, err)
	}
	s.reads.mu.Lock()
	s.reads.downUntil = time.Time{} // as if the retry time had passed
	s.reads.mu.Unlock()
	if err := s.reads.QueryRow(ctx, `SELECT count(*) FROM tickets`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("count, replica tried again: %d, %v", n, err)
	}
	got := s.ReplicaStats()
	if want := (ReplicaStats{Replica: 2, Down: 1, Fallback: 2}); got != want {
		t.Errorf("stats %+v; want %+v", got, want)
	}
	if err := s.PingReplica(ctx); !IsUnavailable(err) {
		t.Errorf("PingReplica with the replica down: %v; want unavailable", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping (the primary) with the replica down: %v", err)
	}
	// An empty result on a healthy replica is an empty result, not a fallback.
	healthy := NewStore(primary, migratedPool(t), testKeyRing(t))
	rows, err := healthy.reads.Query(ctx, `SELECT id FROM tickets`)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(ids) != 0 || healthy.ReplicaStats().Fallback != 0 {
		t.Fatalf("empty replica: %v %v %+v", ids, err, healthy.ReplicaStats())
	}
	// Not a standby: the monitor cannot know its freshness, and says so.
	if err := healthy.reads.probe(ctx); err != nil {
		t.Fatal(err)
	}
	if healthy.reads.monitored {
		t.Error("a replica that reports no replay position counted as monitored")
	}
}
