package tickets

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
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
func (s *Store) EnsurePartitions(ctx context.Context, from, now time.Time, monthsAhead int) (created int, err error) {
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

func (s *Store) ensurePartition(ctx context.Context, m time.Time) (bool, error) {
	name := partitionName(m)
	var exists bool
	if err := s.primary.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
		return false, mapPgErr(err, "partition")
	}
	if exists {
		return false, nil
	}
	lo, hi := m.Format(time.RFC3339), m.AddDate(0, 1, 0).Format(time.RFC3339)
	ident := pgx.Identifier{name}.Sanitize()
	err := pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		stmts := []string{
			`LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE`,
			`CREATE TABLE ` + ident + ` (LIKE messages INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`,
			fmt.Sprintf(`WITH moved AS (DELETE FROM messages_default WHERE created_at >= '%s' AND created_at < '%s' RETURNING *)
				INSERT INTO %s SELECT * FROM moved`, lo, hi, ident),
			fmt.Sprintf(`ALTER TABLE messages ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')`, ident, lo, hi),
		}
		for _, q := range stmts {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, mapPgErr(err, "partition "+name)
	}
	return true, nil
}

// ArchiveMessages moves messages created before cutoff into
// messages_archive in batches, then drops monthly partitions that lie wholly
// before cutoff. It returns how many rows moved.
func (s *Store) ArchiveMessages(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
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

func (s *Store) dropPartitionsBefore(ctx context.Context, cutoff time.Time) error {
	rows, err := s.primary.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'messages'::regclass AND c.relname LIKE 'messages\_p%'`)
	if err != nil {
		return mapPgErr(err, "partitions")
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return mapPgErr(err, "partitions")
	}
	for _, n := range names {
		m, err := time.Parse("200601", strings.TrimPrefix(n, "messages_p"))
		if err != nil || m.AddDate(0, 1, 0).After(cutoff) {
			continue
		}
		ident := pgx.Identifier{n}.Sanitize()
		var empty bool
		if err := s.primary.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM `+ident+`)`).Scan(&empty); err != nil {
			return mapPgErr(err, "partition "+n)
		}
		if !empty {
			continue // rows arrived after the move; the next run takes them
		}
		if _, err := s.primary.Exec(ctx, `DROP TABLE IF EXISTS `+ident); err != nil {
			return mapPgErr(err, "drop partition "+n)
		}
	}
	return nil
}

// RunArchiver keeps partitions ahead of time and archives messages older
// than retention every interval until ctx ends.
func (s *Store) RunArchiver(ctx context.Context, log *slog.Logger, retention, interval time.Duration) {
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
