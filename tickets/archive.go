package tickets

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-cs/switchboard/internal/safe"
)

// partitionName names the monthly messages partition that holds t (UTC).
func partitionName(t time.Time) string { return "messages_p" + t.UTC().Format("200601") }

func monthStart(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// EnsurePartitions makes sure monthly partitions exist from the month of
// from through monthsAhead months after now. Rows that already landed in the
// default partition for such a month are moved into the new partition.
func (s *Conversations) EnsurePartitions(ctx context.Context, from, now time.Time, monthsAhead int) (created int, err error) {
	last := monthStart(now).AddDate(0, monthsAhead, 0)
	for m := monthStart(from); !m.After(last); m = m.AddDate(0, 1, 0) {
		ok, err := s.ensurePartition(ctx, m)
		if err != nil {
			return created, err
		}
		if ok {
			created++
		}
	}
	return created, nil
}

// ensurePartition makes the partition of month m through the owner's function
// (migration 00016): the application's role has no DDL rights.
func (s *Conversations) ensurePartition(ctx context.Context, m time.Time) (bool, error) {
	var created bool
	err := s.primary.QueryRow(ctx, `SELECT messages_ensure_partition($1::date)`, m.Format(time.DateOnly)).Scan(&created)
	return created, mapPgErr(err, "partition "+partitionName(m))
}

// ArchiveMessages moves messages created before cutoff into
// messages_archive in batches, then drops monthly partitions that lie wholly
// before cutoff. It returns how many rows moved.
func (s *Conversations) ArchiveMessages(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = 5000
	}
	var moved int64
	for {
		var n int64
		err := s.primary.QueryRow(ctx, `WITH moved AS (
				DELETE FROM messages WHERE (id, created_at) IN (
					SELECT id, created_at FROM messages WHERE created_at < $1 LIMIT $2)
				RETURNING id, conversation_id, author, body, created_at),
			kept AS (INSERT INTO messages_archive (id, conversation_id, author, body, created_at)
				SELECT id, conversation_id, author, body, created_at FROM moved ON CONFLICT DO NOTHING)
			SELECT count(*) FROM moved`, cutoff, batch).Scan(&n)
		if err != nil {
			return moved, mapPgErr(err, "archive")
		}
		moved += n
		if n < int64(batch) {
			break
		}
	}
	return moved, s.dropPartitionsBefore(ctx, cutoff)
}

// dropPartitionsBefore drops the emptied monthly partitions that lie wholly before
// cutoff, through the owner's function (migration 00016).
func (s *Conversations) dropPartitionsBefore(ctx context.Context, cutoff time.Time) error {
	_, err := s.primary.Exec(ctx, `SELECT messages_drop_partitions_before($1)`, cutoff)
	return mapPgErr(err, "drop partitions")
}

// RunArchiver keeps partitions ahead of time and archives messages older
// than retention every interval until ctx ends. A panicking pass is recovered
// (see GuardPanics), and the archiver starts again after interval.
func (s *Conversations) RunArchiver(ctx context.Context, log *slog.Logger, retention, interval time.Duration) {
	safe.Restart(ctx, s.panics, "archiver", interval, func() { s.runArchiver(ctx, log, retention, interval) })
}

func (s *Conversations) runArchiver(ctx context.Context, log *slog.Logger, retention, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		now := time.Now()
		if _, err := s.EnsurePartitions(ctx, now, now, 2); err != nil && ctx.Err() == nil {
			log.Error("ensure message partitions", "err", err)
		}
		n, err := s.ArchiveMessages(ctx, now.Add(-retention), 0)
		if err != nil && ctx.Err() == nil {
			log.Error("archive messages", "err", err)
		} else if n > 0 {
			log.Info("archived messages", "rows", n, "older_than", retention)
		}
		if n, err := s.dropOrphanMedia(ctx, 24*time.Hour); err != nil && ctx.Err() == nil {
			log.Error("drop orphan media", "err", err)
		} else if n > 0 {
			log.Info("dropped stashed media of turns never recorded", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
