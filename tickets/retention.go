package tickets

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// RetentionPolicy says how long personal data is kept; a zero duration keeps it.
type RetentionPolicy struct {
	Vault   time.Duration // pii_vault: originals of redacted values
	Queue   time.Duration // channel_messages done/failed, outbox sent/failed
	Archive time.Duration // messages_archive, and the files agents sent (ticket_attachments)
	Media   time.Duration // stashed_media of finished, failed or never-recorded turns
	// Audit removes audit events older than this (at least 180 days), anchoring the
	// new first event first.
	Audit time.Duration
}

// retentionEntry is one table's rule. SQL deletes at most $2 rows older than the
// cutoff $1 and returns how many it deleted. A table added later that holds personal
// data gets one entry here (and one in eraseEntries).
type retentionEntry struct {
	Table string // also the metric label
	Age   func(RetentionPolicy) time.Duration
	SQL   string
}

// batchDelete deletes up to $2 rows of table matching cond (which may use $1).
func batchDelete(table, cond string) string {
	return `WITH gone AS (DELETE FROM ` + table + ` WHERE ctid = ANY(ARRAY(
		SELECT ctid FROM ` + table + ` t WHERE ` + cond + ` LIMIT $2)) RETURNING 1) SELECT count(*) FROM gone`
}

var retentionEntries = []retentionEntry{
	{"pii_vault", func(p RetentionPolicy) time.Duration { return p.Vault },
		batchDelete("pii_vault", `t.created_at < $1`)},
	{"stashed_media", func(p RetentionPolicy) time.Duration { return p.Media },
		batchDelete("stashed_media", `t.created_at < $1 AND NOT EXISTS (SELECT 1 FROM channel_messages cm
			WHERE cm.channel = t.channel AND cm.message_id = t.message_id AND cm.state = 'pending')`)},
	{"channel_messages", func(p RetentionPolicy) time.Duration { return p.Queue },
		batchDelete("channel_messages", `t.state IN ('done', 'failed') AND t.received_at < $1`)},
	{"outbox", func(p RetentionPolicy) time.Duration { return p.Queue },
		batchDelete("outbox", `t.state IN ('sent', 'failed') AND t.created_at < $1`)},
	{"messages_archive", func(p RetentionPolicy) time.Duration { return p.Archive },
		batchDelete("messages_archive", `t.created_at < $1`)},
	// an agent's file goes with the messages of its time (retention.archive)
	{"ticket_attachments", func(p RetentionPolicy) time.Duration { return p.Archive },
		batchDelete("ticket_attachments", `t.created_at < $1`)},
}

// retentionLock is the advisory lock one replica holds while it applies retention.
const retentionLock = 0x5342524554 // "SBRET"

// Retention applies a RetentionPolicy: one replica at a time (a PostgreSQL advisory
// lock), table by table in batches, counting what it removed.
type Retention struct {
	store   *Store
	policy  RetentionPolicy
	audit   *Anchorer // nil: audit events are kept
	log     *slog.Logger
	deleted *prometheus.CounterVec
}

// NewRetention returns a Retention registering its metric with reg (nil: nowhere).
func NewRetention(store *Store, policy RetentionPolicy, audit *Anchorer, log *slog.Logger, reg prometheus.Registerer) *Retention {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Retention{store: store, policy: policy, audit: audit, log: log,
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_retention_deleted_rows_total",
			Help: "Rows removed by retention, by table (audit_events: events purged after anchoring).",
		}, []string{"table"})}
	if reg != nil {
		reg.MustRegister(r.deleted)
	}
	return r
}

// RunOnce applies the policy now and returns the rows removed by table. ran is false
// when another replica holds the lock.
func (r *Retention) RunOnce(ctx context.Context) (removed map[string]int64, ran bool, err error) {
	conn, err := r.store.primary.Acquire(ctx)
	if err != nil {
		return nil, false, mapPgErr(err, "retention")
	}
	defer conn.Release()
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, retentionLock).Scan(&ran); err != nil || !ran {
		return nil, false, mapPgErr(err, "retention lock")
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, retentionLock) //nolint:errcheck // the lock also ends with the session
	removed = map[string]int64{}
	now := time.Now()
	for _, e := range retentionEntries {
		age := e.Age(r.policy)
		if age <= 0 {
			continue
		}
		n, err := deleteOlder(ctx, conn, e, now.Add(-age))
		removed[e.Table] += n
		r.deleted.WithLabelValues(e.Table).Add(float64(n))
		if err != nil {
			return removed, true, err
		}
	}
	if r.audit != nil && r.policy.Audit > 0 {
		n, err := r.audit.PurgeOlderThan(ctx, r.policy.Audit)
		removed["audit_events"] = n
		r.deleted.WithLabelValues("audit_events").Add(float64(n))
		if err != nil {
			return removed, true, err
		}
	}
	return removed, true, nil
}

// deleteOlder runs e's batches until one comes back short.
func deleteOlder(ctx context.Context, conn *pgxpool.Conn, e retentionEntry, cutoff time.Time) (int64, error) {
	const batch = 1000
	var total int64
	for {
		var n int64
		if err := conn.QueryRow(ctx, e.SQL, cutoff, batch).Scan(&n); err != nil {
			return total, mapPgErr(err, "retention of "+e.Table)
		}
		total += n
		if n < batch {
			return total, nil
		}
	}
}

// Run applies the policy every interval until ctx ends.
func (r *Retention) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		removed, ran, err := r.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.log.Error("retention", "err", err, "removed", fmt.Sprint(removed))
		case ran && total(removed) > 0:
			r.log.Info("retention applied", "removed", fmt.Sprint(removed))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
