package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// cursor is where the dispatcher stands in a source (a webhook_cursors row).
type cursor struct {
	Position int64     // the last audit event read
	At       time.Time // the latest row read of a time-ordered source
	Since    time.Time // when the cursor was made: nothing older is sent
}

// source is one place events come from.
type source struct {
	name  string
	types []string
	// read returns the events after c, the cursor past them, and whether it read a
	// full batch (more may wait).
	read func(ctx context.Context, tx pgx.Tx, c cursor) ([]Event, cursor, bool, error)
	// skip moves c past everything there is, for a source no endpoint subscribes to.
	skip string
}

// sources are read in this order on every poll.
var sources = []source{
	{name: "audit", types: auditEventTypes(), read: readAudit,
		skip: `UPDATE webhook_cursors SET position = greatest(position, (SELECT coalesce(max(id), 0) FROM audit_events)),
			updated_at = now() WHERE source = 'audit'`},
	{name: "csat", types: []string{CSATSubmitted}, read: readCSAT,
		skip: `UPDATE webhook_cursors SET at = greatest(at, now()), updated_at = now() WHERE source = 'csat'`},
	{name: "qa", types: []string{QAScored}, read: readQA,
		skip: `UPDATE webhook_cursors SET at = greatest(at, now()), updated_at = now() WHERE source = 'qa'`},
}

// auditEventTypes are the event types read from the audit log (every value of
// auditTypes): an endpoint that wants any of them keeps the audit source read.
func auditEventTypes() []string {
	var out []string
	for _, typ := range auditTypes {
		if !slices.Contains(out, typ) {
			out = append(out, typ)
		}
	}
	slices.Sort(out)
	return out
}

// ensureCursorsSQL makes the cursors on first use: the audit log is read from its
// current end, the time-ordered sources from now — webhooks start with the events after
// they are first enabled.
const ensureCursorsSQL = `INSERT INTO webhook_cursors (source, position)
	VALUES ('audit', (SELECT coalesce(max(id), 0) FROM audit_events)), ('csat', 0), ('qa', 0)
	ON CONFLICT (source) DO NOTHING`

func (d *Dispatcher) ensureCursors(ctx context.Context) error {
	if d.cursorsMade.Load() {
		return nil
	}
	if _, err := d.pool.Exec(ctx, ensureCursorsSQL); err != nil {
		return fmt.Errorf("webhook cursors: %w", err)
	}
	d.cursorsMade.Store(true)
	return nil
}

// sourceRounds bounds the batches one poll reads from a source.
const sourceRounds = 20

// pollEvents queues the deliveries of every source's new events and wakes the endpoints
// that have new ones.
func (d *Dispatcher) pollEvents(ctx context.Context) error {
	if err := d.ensureCursors(ctx); err != nil {
		return err
	}
	queued := map[string]bool{}
	defer d.nudge(queued)
	for _, src := range sources {
		for range sourceRounds {
			full, err := d.pollSource(ctx, src, queued)
			if err != nil {
				return fmt.Errorf("source %s: %w", src.name, err)
			}
			if !full {
				break
			}
		}
	}
	return nil
}

// pollSource reads one batch of src and queues its deliveries in the transaction that
// moves the cursor, under the cursor's row lock: when another replica holds it, this
// one leaves the source to it.
func (d *Dispatcher) pollSource(ctx context.Context, src source, queued map[string]bool) (full bool, err error) {
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var c cursor
		err := tx.QueryRow(ctx, `SELECT position, at, created_at FROM webhook_cursors WHERE source = $1
			FOR UPDATE SKIP LOCKED`, src.name).Scan(&c.Position, &c.At, &c.Since)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.subscribed(src.types) {
			_, err := tx.Exec(ctx, src.skip)
			return err
		}
		events, next, more, err := src.read(ctx, tx, c)
		if err != nil {
			return err
		}
		if err := d.enqueue(ctx, tx, events, queued); err != nil {
			return err
		}
		full = more
		_, err = tx.Exec(ctx, `UPDATE webhook_cursors SET position = $2, at = $3, updated_at = now() WHERE source = $1`,
			src.name, next.Position, next.At)
		return err
	})
	return full, err
}

// subscribed reports whether an endpoint wants one of types.
func (d *Dispatcher) subscribed(types []string) bool {
	return slices.ContainsFunc(d.cfg.Endpoints, func(ep Endpoint) bool { return slices.ContainsFunc(types, ep.Wants) })
}

// enqueue inserts a delivery of each event for every endpoint that wants it; one queued
// before (by another replica, or before a restart) is left as it is.
func (d *Dispatcher) enqueue(ctx context.Context, tx pgx.Tx, events []Event, queued map[string]bool) error {
	var eps, types, ids, payloads []string
	for _, ev := range events {
		body, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("event %s: %w", ev.ID, err)
		}
		for _, ep := range d.cfg.Endpoints {
			if ep.Wants(ev.Type) {
				eps, types, ids, payloads = append(eps, ep.Name), append(types, ev.Type), append(ids, ev.ID), append(payloads, string(body))
			}
		}
	}
	if len(eps) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `INSERT INTO webhook_deliveries (endpoint, event_type, event_id, payload, next_attempt_at, created_at)
		SELECT e, t, i, p::jsonb, $5, $5 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(e, t, i, p, n)
		ORDER BY n
		ON CONFLICT (endpoint, event_id) DO NOTHING
		RETURNING endpoint`, eps, types, ids, payloads, d.now())
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, n := range names {
		queued[n] = true
	}
	return err
}

// readAudit reads the audit events after the cursor. Audit appends are serialized by
// the chain lock until they commit, so ids become visible in order and a cursor by id
// misses none.
func readAudit(ctx context.Context, tx pgx.Tx, c cursor) ([]Event, cursor, bool, error) {
	actions := make([]string, 0, len(auditTypes))
	for a := range auditTypes {
		actions = append(actions, a)
	}
	rows, err := tx.Query(ctx, `SELECT id, at, actor, action, target, CASE WHEN action = ANY($3) THEN detail::text ELSE '{}' END
		FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2`, c.Position, sourceBatch, actions)
	if err != nil {
		return nil, c, false, err
	}
	read, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auditRow, error) {
		var a auditRow
		var detail string
		err := r.Scan(&a.ID, &a.At, &a.Actor, &a.Action, &a.Target, &detail)
		a.Detail = []byte(detail)
		return a, err
	})
	if err != nil {
		return nil, c, false, err
	}
	var events []Event
	for _, a := range read {
		if ev, ok := fromAudit(a); ok {
			events = append(events, ev)
		}
		c.Position = a.ID
	}
	return events, c, len(read) == sourceBatch, nil
}

// windowStart is where a time-ordered source is read from: sourceOverlap before the
// latest row read, never before the cursor was made.
func windowStart(c cursor) time.Time {
	start := c.At.Add(-sourceOverlap)
	if start.Before(c.Since) {
		return c.Since
	}
	return start
}

// readCSAT reads the ratings given since the window start that have no delivery yet.
func readCSAT(ctx context.Context, tx pgx.Tx, c cursor) ([]Event, cursor, bool, error) {
	rows, err := tx.Query(ctx, `SELECT ticket_id::text, agent_id, rating, rated_at FROM csat_ratings r
		WHERE rated_at IS NOT NULL AND rated_at > $1 AND rating IS NOT NULL
		  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = 'csat:' || r.ticket_id::text)
		ORDER BY rated_at, ticket_id LIMIT $2`, windowStart(c), sourceBatch)
	if err != nil {
		return nil, c, false, err
	}
	read, err := pgx.CollectRows(rows, pgx.RowToStructByPos[csatRow])
	if err != nil {
		return nil, c, false, err
	}
	events := make([]Event, 0, len(read))
	for _, r := range read {
		events = append(events, fromCSAT(r))
		c.At = latest(c.At, r.RatedAt)
	}
	return events, c, len(read) == sourceBatch, nil
}

// readQA reads the reply inspections stored since the window start that have no
// delivery yet.
func readQA(ctx context.Context, tx pgx.Tx, c cursor) ([]Event, cursor, bool, error) {
	rows, err := tx.Query(ctx, `SELECT message_id, ticket_id::text, agent_id, group_id, position, score, findings::text, created_at
		FROM reply_quality q
		WHERE created_at > $1
		  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = 'qa:' || q.message_id::text)
		ORDER BY created_at, message_id LIMIT $2`, windowStart(c), sourceBatch)
	if err != nil {
		return nil, c, false, err
	}
	read, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (qaRow, error) {
		var q qaRow
		var findings string
		err := r.Scan(&q.MessageID, &q.TicketID, &q.AgentID, &q.GroupID, &q.Position, &q.Score, &findings, &q.CreatedAt)
		q.Findings = []byte(findings)
		return q, err
	})
	if err != nil {
		return nil, c, false, err
	}
	events := make([]Event, 0, len(read))
	for _, r := range read {
		events = append(events, fromQA(r))
		c.At = latest(c.At, r.CreatedAt)
	}
	return events, c, len(read) == sourceBatch, nil
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
