package tickets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Reads that may lag (lists, reports, transcripts) go to the read replica, a
// streaming standby of the primary, with two guards:
//
//   - Read-your-writes. A principal that just wrote (ReadAfter on its requests'
//     context) reads from the primary until the standby is known to have replayed
//     everything the primary had committed when it wrote. RunReplicaMonitor knows
//     that: every interval it samples the primary's WAL insert position with the
//     time, and the standby's replay position; once the standby replayed a sample's
//     position, every commit before the sample's time is visible on it (freshAsOf).
//     Without a monitor's word (none runs, or the replica is no standby and reports
//     no replay position) such a principal reads from the primary.
//   - Availability. A read the replica fails to answer because it is unreachable is
//     run again on the primary, and the replica is left alone until the monitor
//     reaches it again (or, without a monitor, for replicaRetry). A replica whose
//     known lag exceeds ReplicaMaxLag is left alone too.

// ReplicaMaxLag is the replication lag beyond which every read goes to the primary.
const ReplicaMaxLag = 10 * time.Second

// replicaRetry is how long a replica that failed a read is left alone when no
// monitor runs to say it is back.
const replicaRetry = 2 * time.Second

type readAfterKey struct{}

// ReadAfter returns a context whose reads must see everything committed up to t (the
// end of its principal's last write): the store serves them from the replica only once
// the replica holds all of that.
func ReadAfter(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, readAfterKey{}, t)
}

// ReadAfterTime returns the time ReadAfter put in ctx, if any.
func ReadAfterTime(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(readAfterKey{}).(time.Time)
	return t, ok
}

// ReplicaStats counts where reads that may use the replica went.
type ReplicaStats struct {
	Replica, Fresh, Lagging, Down, Fallback int64 // Fresh/Lagging/Down: to the primary, and why
}

// replicaReads routes the reads that may lag; see above. With no replica (replica ==
// primary) every read goes to the primary.
type replicaReads struct {
	primary, replica *pgxpool.Pool

	mu        sync.Mutex
	monitored bool          // a monitor reported the replica's replay position
	freshAsOf time.Time     // every commit before it is visible on the replica
	lag       time.Duration // now − freshAsOf at the last probe
	downUntil time.Time     // the replica failed: leave it alone until then (or the monitor reaches it)
	samples   []lsnSample   // the primary's insert positions not yet replayed by the replica

	replicaN, freshN, laggingN, downN, fallbackN atomic.Int64
}

type lsnSample struct {
	at  time.Time
	lsn int64
}

// pick returns the pool a read in ctx goes to, and whether it is the replica.
func (r *replicaReads) pick(ctx context.Context) (*pgxpool.Pool, bool) {
	if r.replica == r.primary {
		return r.primary, false
	}
	now := time.Now()
	r.mu.Lock()
	monitored, fresh, lag, down := r.monitored, r.freshAsOf, r.lag, now.Before(r.downUntil)
	r.mu.Unlock()
	switch after, must := ReadAfterTime(ctx); {
	case down:
		r.downN.Add(1)
	case monitored && (lag > ReplicaMaxLag || now.Sub(fresh) > ReplicaMaxLag+time.Second):
		r.laggingN.Add(1) // far behind, or the monitor has not reached it for a while
	case must && (!monitored || !fresh.After(after)):
		r.freshN.Add(1)
	default:
		r.replicaN.Add(1)
		return r.replica, true
	}
	return r.primary, false
}

// failed records that the replica could not answer.
func (r *replicaReads) failed() {
	r.fallbackN.Add(1)
	r.mu.Lock()
	r.downUntil = time.Now().Add(replicaRetry)
	r.mu.Unlock()
}

// Query runs a read on the pool pick chooses; a replica that cannot be reached is
// replaced by the primary. pgx reports a broken connection on a prepared statement
// only when the rows are read, so the first row is read here.
func (r *replicaReads) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	pool, onReplica := r.pick(ctx)
	rows, err := pool.Query(ctx, sql, args...)
	if !onReplica {
		return rows, err
	}
	if err == nil {
		if rows.Next() {
			return &peekedRows{Rows: rows}, nil
		}
		rows.Close()
		if err = rows.Err(); err == nil {
			return &peekedRows{Rows: rows, empty: true}, nil
		}
	}
	if !IsUnavailable(err) || ctx.Err() != nil {
		return rows, err
	}
	r.failed()
	return r.primary.Query(ctx, sql, args...)
}

// QueryRow is Query for one row.
func (r *replicaReads) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return &fallbackRow{r: r, ctx: ctx, sql: sql, args: args}
}

// peekedRows hands out again the first row Query read (or none).
type peekedRows struct {
	pgx.Rows
	started bool
	empty   bool
}

func (p *peekedRows) Next() bool {
	if !p.started {
		p.started = true
		return !p.empty
	}
	if p.empty {
		return false
	}
	return p.Rows.Next()
}

type fallbackRow struct {
	r    *replicaReads
	ctx  context.Context
	sql  string
	args []any
}

func (f *fallbackRow) Scan(dest ...any) error {
	pool, onReplica := f.r.pick(f.ctx)
	err := pool.QueryRow(f.ctx, f.sql, f.args...).Scan(dest...)
	if !onReplica || !IsUnavailable(err) || f.ctx.Err() != nil {
		return err
	}
	f.r.failed()
	return f.r.primary.QueryRow(f.ctx, f.sql, f.args...).Scan(dest...)
}

// probe samples the primary's insert position and the replica's replay position once
// and updates what pick knows.
func (r *replicaReads) probe(ctx context.Context) error {
	now := time.Now()
	var inserted int64
	if err := r.primary.QueryRow(ctx, `SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint`).Scan(&inserted); err != nil {
		return fmt.Errorf("primary WAL position: %w", err)
	}
	var replayed *int64
	err := r.replica.QueryRow(ctx, `SELECT (pg_last_wal_replay_lsn() - '0/0')::bigint`).Scan(&replayed)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.downUntil = time.Now().Add(replicaRetry)
		return fmt.Errorf("replica replay position: %w", err)
	}
	r.downUntil = time.Time{}
	if replayed == nil { // not a standby: its freshness cannot be known
		r.monitored, r.samples = false, nil
		return nil
	}
	r.monitored = true
	r.samples = append(r.samples, lsnSample{at: now, lsn: inserted})
	n := 0
	for n < len(r.samples) && r.samples[n].lsn <= *replayed {
		r.freshAsOf = r.samples[n].at
		n++
	}
	r.samples = r.samples[n:]
	if len(r.samples) > 1000 { // far behind: keep the recent ones
		r.samples = r.samples[len(r.samples)-1000:]
	}
	r.lag = time.Since(r.freshAsOf)
	return nil
}

// RunReplicaMonitor probes the replica every interval until ctx ends (see
// replicaReads); with no replica it returns at once.
func (s *storeCore) RunReplicaMonitor(ctx context.Context, every time.Duration, log *slog.Logger) {
	if s.reads.replica == s.reads.primary {
		return
	}
	failing := false
	for {
		pctx, cancel := context.WithTimeout(ctx, max(every, time.Second))
		err := s.reads.probe(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			log.Warn("read replica unreachable: reads go to the primary", "err", err)
		case err == nil && failing:
			log.Info("read replica reachable again")
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// ReplicaStats returns where the reads that may use the replica went so far.
func (s *storeCore) ReplicaStats() ReplicaStats {
	r := s.reads
	return ReplicaStats{Replica: r.replicaN.Load(), Fresh: r.freshN.Load(), Lagging: r.laggingN.Load(),
		Down: r.downN.Load(), Fallback: r.fallbackN.Load()}
}

// PingReplica checks the read replica (nil without one). Reads fall back to the
// primary while it fails, so it is no reason to be unready.
func (s *storeCore) PingReplica(ctx context.Context) error {
	if s.reads.replica == s.reads.primary {
		return nil
	}
	if err := s.reads.replica.Ping(ctx); err != nil {
		return errors.Join(fmt.Errorf("postgres replica: %w", ErrUnavailable), err)
	}
	return nil
}
