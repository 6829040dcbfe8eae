package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-cs/switchboard/tickets"
)

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Errors of the delivery log; they wrap the ticket core's sentinels, so the gateway
// maps them to HTTP statuses as it maps those.
var (
	ErrNotFound = fmt.Errorf("webhook delivery %w", tickets.ErrNotFound)
	ErrInvalid  = fmt.Errorf("webhook delivery filter: %w", tickets.ErrInvalid)
	// ErrPending: a pending delivery is sent (again) by the dispatcher on its own.
	ErrPending = fmt.Errorf("webhook delivery is pending: %w", tickets.ErrConflict)
)

// Delivery is one event queued for one endpoint, and how sending it went.
type Delivery struct {
	ID        int64           `json:"id"`
	Endpoint  string          `json:"endpoint"`
	EventType string          `json:"event_type"`
	EventID   string          `json:"event_id"`
	Payload   json.RawMessage `json:"payload"`
	Status    string          `json:"status"`
	Attempts  int             `json:"attempts"`
	// NextAttemptAt is when a pending delivery is tried next.
	NextAttemptAt time.Time `json:"next_attempt_at"`
	// LastStatusCode is the HTTP status of the last attempt (0 when it got no answer).
	LastStatusCode int        `json:"last_status_code,omitempty"`
	LastError      string     `json:"last_error,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
}

// Filter selects deliveries for List; zero fields select all.
type Filter struct {
	Endpoint string
	Status   string // pending, delivered or failed
	// Limit is the page size (default 50, at most 500).
	Limit int
	// Before pages back: only deliveries with a smaller id.
	Before int64
}

// DeliveryLog reads and administers webhook_deliveries (the admin API's side).
type DeliveryLog struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewDeliveryLog returns the log on pool; now stamps redeliveries (nil: time.Now).
func NewDeliveryLog(pool *pgxpool.Pool, now func() time.Time) *DeliveryLog {
	if now == nil {
		now = time.Now
	}
	return &DeliveryLog{pool: pool, now: now}
}

const deliveryCols = `id, endpoint, event_type, event_id, payload::text, status, attempts, next_attempt_at,
	coalesce(last_status_code, 0), last_error, created_at, delivered_at`

func scanDelivery(r pgx.CollectableRow) (Delivery, error) {
	var d Delivery
	var payload string
	err := r.Scan(&d.ID, &d.Endpoint, &d.EventType, &d.EventID, &payload, &d.Status, &d.Attempts, &d.NextAttemptAt,
		&d.LastStatusCode, &d.LastError, &d.CreatedAt, &d.DeliveredAt)
	d.Payload = json.RawMessage(payload)
	return d, err
}

// List returns the deliveries f selects, newest first.
func (l *DeliveryLog) List(ctx context.Context, f Filter) ([]Delivery, error) {
	switch f.Status {
	case "", StatusPending, StatusDelivered, StatusFailed:
	default:
		return nil, fmt.Errorf("%w: status %q (want pending, delivered or failed)", ErrInvalid, f.Status)
	}
	if f.Limit < 0 || f.Before < 0 {
		return nil, fmt.Errorf("%w: negative limit or before", ErrInvalid)
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Endpoint != "" {
		add("endpoint = $%d", f.Endpoint)
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.Before > 0 {
		add("id < $%d", f.Before)
	}
	q := `SELECT ` + deliveryCols + ` FROM webhook_deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	rows, err := l.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("webhook deliveries: %w", err)
	}
	return out, nil
}

// Get returns delivery id.
func (l *DeliveryLog) Get(ctx context.Context, id int64) (Delivery, error) {
	rows, err := l.pool.Query(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = $1`, id)
	if err != nil {
		return Delivery{}, fmt.Errorf("webhook delivery %d: %w", id, err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDelivery)
	if errors.Is(err, pgx.ErrNoRows) {
		return Delivery{}, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("webhook delivery %d: %w", id, err)
	}
	return d, nil
}

// Redeliver queues a delivered or failed delivery again, due at once, with its attempts
// counted from zero; it keeps its id, so X-Switchboard-Delivery is the same as before (a
// receiver that dedups on it ignores the copy). ErrPending when it is pending already,
// ErrNotFound when there is no such delivery.
func (l *DeliveryLog) Redeliver(ctx context.Context, id int64) (Delivery, error) {
	rows, err := l.pool.Query(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $2,
		delivered_at = NULL WHERE id = $1 AND status <> 'pending' RETURNING `+deliveryCols, id, l.now())
	if err != nil {
		return Delivery{}, fmt.Errorf("redeliver %d: %w", id, err)
	}
	d, err := pgx.CollectExactlyOneRow(rows, scanDelivery)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := l.Get(ctx, id); gerr != nil {
			return Delivery{}, gerr
		}
		return Delivery{}, fmt.Errorf("%w: %d", ErrPending, id)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("redeliver %d: %w", id, err)
	}
	return d, nil
}

// Backlog counts the pending deliveries of each endpoint.
func (l *DeliveryLog) Backlog(ctx context.Context) (map[string]int, error) {
	rows, err := l.pool.Query(ctx, `SELECT endpoint, count(*) FROM webhook_deliveries WHERE status = 'pending' GROUP BY endpoint`)
	if err != nil {
		return nil, fmt.Errorf("webhook backlog: %w", err)
	}
	out := map[string]int{}
	var name string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&name, &n}, func() error {
		out[name] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("webhook backlog: %w", err)
	}
	return out, nil
}
