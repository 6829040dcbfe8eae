package tickets

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/internal/safe"
)

// Breach is one SLA breach the watcher marked.
type Breach struct {
	TicketID string
	Kind     string // first_response or resolution
	Priority Priority
	GroupID  string
}

// GroupSLA is the backlog and SLA risk of one skill group.
type GroupSLA struct {
	GroupID string `json:"group_id"`
	Backlog int    `json:"backlog"`
	AtRisk  int    `json:"at_risk"`
	Waiting int64  `json:"waiting"`
}

var breachQueries = map[string]string{
	"first_response": `first_response_breached_at IS NULL AND first_response_at IS NULL AND first_response_due < $1`,
	"resolution":     `resolution_breached_at IS NULL AND resolved_at IS NULL AND resolution_due < $1`,
}

// MarkBreaches marks tickets whose first-response or resolution deadline
// passed before now. Each breach is marked once, whichever instance sees it
// first; the change bumps the ticket version and is announced.
func (s *TicketRecords) MarkBreaches(ctx context.Context, now time.Time) ([]Breach, error) {
	var out []Breach
	for _, kind := range []string{"first_response", "resolution"} {
		rows, err := s.primary.Query(ctx, fmt.Sprintf(`WITH upd AS (
				UPDATE tickets SET %[1]s_breached_at = $1, version = version + 1
				WHERE status NOT IN ('resolved', 'closed') AND %[2]s
				RETURNING id, priority, coalesce(group_id, '') AS group_id, version, status, coalesce(assignee, '') AS assignee)
			SELECT id, priority, group_id, pg_notify($2, json_build_object('type', 'ticket.sla_breached',
				'ticket_id', id, 'version', version, 'status', status, 'assignee_id', assignee, 'group_id', group_id)::text)
			FROM upd`, kind, breachQueries[kind]), now, EventChannel)
		if err != nil {
			return out, mapPgErr(err, "sla breaches")
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Breach, error) {
			b := Breach{Kind: kind}
			var ignored any
			err := r.Scan(&b.TicketID, &b.Priority, &b.GroupID, &ignored)
			return b, err
		})
		if err != nil {
			return out, mapPgErr(err, "sla breaches")
		}
		out = append(out, got...)
	}
	return out, nil
}

// GroupSLAStats counts unresolved tickets per skill group and those at risk:
// less than atRiskFraction of an SLA window left and not yet breached.
func (s *TicketRecords) GroupSLAStats(ctx context.Context, now time.Time, atRiskFraction float64) ([]GroupSLA, error) {
	rows, err := s.reads.Query(ctx, `SELECT coalesce(group_id, ''), count(*),
		count(*) FILTER (WHERE
			(first_response_at IS NULL AND first_response_breached_at IS NULL AND first_response_due IS NOT NULL
				AND first_response_due - $1 < (first_response_due - created_at) * $2)
			OR (resolution_breached_at IS NULL AND resolution_due IS NOT NULL
				AND resolution_due - $1 < (resolution_due - created_at) * $2))
		FROM tickets WHERE status NOT IN ('resolved', 'closed') GROUP BY 1 ORDER BY 1`, now, atRiskFraction)
	if err != nil {
		return nil, mapPgErr(err, "sla stats")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (GroupSLA, error) {
		var g GroupSLA
		err := r.Scan(&g.GroupID, &g.Backlog, &g.AtRisk)
		return g, err
	})
	return out, mapPgErr(err, "sla stats")
}

// SLAWatcher marks breaches and refreshes the backlog, risk and queue-depth
// gauges.
type SLAWatcher struct {
	Store          *Store
	Router         *RedisRouter
	Metrics        *Metrics
	Log            *slog.Logger
	AtRiskFraction float64
	Now            func() time.Time
	Panics         *safe.Guard // recovers a panicking pass (nil: recovered all the same)
}

// Check runs one pass and returns the breaches it marked and the stats.
func (w *SLAWatcher) Check(ctx context.Context) ([]Breach, []GroupSLA, error) {
	now := w.Now()
	breaches, err := w.Store.MarkBreaches(ctx, now)
	for _, b := range breaches {
		w.Metrics.SLAViolations.WithLabelValues(b.Kind, string(b.Priority), b.GroupID).Inc()
	}
	if err != nil {
		return breaches, nil, err
	}
	stats, err := w.Store.GroupSLAStats(ctx, now, w.AtRiskFraction)
	if err != nil {
		return breaches, nil, err
	}
	w.Metrics.Backlog.Reset()
	w.Metrics.AtRisk.Reset()
	for _, g := range stats {
		w.Metrics.Backlog.WithLabelValues(g.GroupID).Set(float64(g.Backlog))
		w.Metrics.AtRisk.WithLabelValues(g.GroupID).Set(float64(g.AtRisk))
	}
	return breaches, stats, w.exportQueueDepth(ctx, stats)
}

// exportQueueDepth sets the waiting-queue gauges for every skill group (depth and
// the oldest ticket's wait, 0 for an empty queue) and fills Waiting in stats.
func (w *SLAWatcher) exportQueueDepth(ctx context.Context, stats []GroupSLA) error {
	if w.Router == nil {
		return nil
	}
	groups, err := w.Store.SkillGroups(ctx)
	if err != nil {
		return err
	}
	figures, err := w.Store.queueFigures(ctx)
	if err != nil {
		return err
	}
	now := w.Now()
	w.Metrics.QueueDepth.Reset()
	w.Metrics.OldestWait.Reset()
	for _, g := range groups {
		wait := 0.0
		if f := figures[g.ID]; f.waiting > 0 {
			wait = max(now.Sub(f.oldestQueued).Seconds(), 0)
		}
		w.Metrics.OldestWait.WithLabelValues(g.ID).Set(wait)
		w.Metrics.expectGroup(g.ID)
		d, err := w.Router.QueueDepth(ctx, g.ID)
		if err != nil {
			return err
		}
		w.Metrics.QueueDepth.WithLabelValues(g.ID).Set(float64(d))
		for i := range stats {
			if stats[i].GroupID == g.ID {
				stats[i].Waiting = d
			}
		}
	}
	return nil
}

// Run checks every interval until ctx ends. A panicking pass is recovered,
// and the watcher starts again after interval.
func (w *SLAWatcher) Run(ctx context.Context, interval time.Duration) {
	safe.Restart(ctx, w.Panics, "sla_watch", interval, func() { w.run(ctx, interval) })
}

func (w *SLAWatcher) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, _, err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error("sla check", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
