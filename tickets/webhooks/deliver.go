package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// claim is a delivery taken for one attempt.
type claim struct {
	ID        int64
	EventType string
	EventID   string
	Payload   []byte
	Attempts  int // including this one
}

// claimSQL takes ep's oldest due delivery for one attempt: it counts the attempt and
// moves next_attempt_at past it (the lease), in one statement. A concurrent claim skips
// the locked row and, once the first commits, no longer finds it due.
const claimSQL = `UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $3
	FROM (SELECT id FROM webhook_deliveries WHERE endpoint = $1 AND status = 'pending' AND next_attempt_at <= $2
		ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) due
	WHERE d.id = due.id
	RETURNING d.id, d.event_type, d.event_id, d.payload::text, d.attempts`

// deliverNext claims and sends ep's oldest due delivery and records how it went; sent
// is false when none was due.
func (d *Dispatcher) deliverNext(ctx context.Context, ep Endpoint) (sent bool, err error) {
	now := d.now()
	var c claim
	var payload string
	err = d.pool.QueryRow(ctx, claimSQL, ep.Name, now, now.Add(ep.Timeout+leaseMargin)).
		Scan(&c.ID, &c.EventType, &c.EventID, &payload, &c.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim: %w", err)
	}
	c.Payload = []byte(payload)
	res := d.send(ctx, ep, c)
	if errors.Is(res.err, errStopped) {
		d.release(ctx, c)
		return false, nil
	}
	return true, d.record(ctx, ep, c, res)
}

// attempt is how one attempt went: the answer's status code (0 without an answer) or
// what went wrong.
type attempt struct {
	code int
	err  error
	took time.Duration
}

// body is the request body: the event as this package writes it (PostgreSQL's jsonb
// reorders keys), or the stored payload as it is when it does not read as an event.
func body(payload []byte) []byte {
	var ev Event
	if json.Unmarshal(payload, &ev) == nil && ev.ID != "" {
		if b, err := json.Marshal(ev); err == nil {
			return b
		}
	}
	return payload
}

// send POSTs the delivery to ep once, bounded by ep.Timeout.
func (d *Dispatcher) send(ctx context.Context, ep Endpoint, c claim) attempt {
	actx, cancel := context.WithTimeout(ctx, ep.Timeout)
	defer cancel()
	b := body(c.Payload)
	req, err := http.NewRequestWithContext(actx, http.MethodPost, ep.URL, bytes.NewReader(b))
	if err != nil {
		return attempt{err: errors.New("bad endpoint URL")}
	}
	ts := d.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhooks/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(ep.secret(), ts, b))
	req.Header.Set(HeaderEvent, c.EventType)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(c.ID, 10))
	start := time.Now()
	resp, err := d.client.Do(req)
	took := time.Since(start)
	if err != nil {
		return attempt{err: describe(ctx, actx, ep.Timeout, err), took: took}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	return attempt{code: resp.StatusCode, took: time.Since(start)}
}

// describe says why an attempt got no answer, without the endpoint's URL (it may carry
// a token): errStopped when the dispatcher is stopping.
func describe(ctx, actx context.Context, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return errStopped
	}
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timeout: no answer within %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

// record stores the outcome of c's attempt: delivered on 2xx; failed on 410 Gone or
// when the attempts ran out; else due again after the backoff. It changes nothing when
// the claim was lost meanwhile (its lease ran out and another attempt was made).
func (d *Dispatcher) record(ctx context.Context, ep Endpoint, c claim, a attempt) error {
	now := d.now()
	status, outcome, next := StatusPending, OutcomeRetry, now
	var code *int
	var delivered *time.Time
	lastErr := ""
	if a.code != 0 {
		code = &a.code
	}
	switch {
	case a.code >= 200 && a.code < 300:
		status, outcome, delivered = StatusDelivered, OutcomeDelivered, &now
	case a.code == http.StatusGone:
		status, outcome, lastErr = StatusFailed, OutcomeFailed, "410 Gone: the endpoint does not take this event"
	default:
		lastErr = errorText(a)
		if c.Attempts >= d.cfg.MaxAttempts {
			status, outcome = StatusFailed, OutcomeFailed
		} else {
			next = now.Add(d.cfg.backoff(c.Attempts, rand.Float64()))
		}
	}
	d.m.deliveries.WithLabelValues(ep.Name, outcome).Inc()
	d.m.seconds.WithLabelValues(ep.Name).Observe(a.took.Seconds())
	d.logAttempt(ep, c, a, outcome, next, lastErr)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second) // the attempt happened: record it
	defer cancel()
	_, err := d.pool.Exec(ctx, `UPDATE webhook_deliveries SET status = $3, next_attempt_at = $4, last_status_code = $5,
		last_error = $6, delivered_at = $7 WHERE id = $1 AND attempts = $2 AND status = 'pending'`,
		c.ID, c.Attempts, status, next, code, lastErr, delivered)
	if err != nil {
		return fmt.Errorf("record delivery %d: %w", c.ID, err)
	}
	return nil
}

// maxErrorText bounds last_error.
const maxErrorText = 300

func errorText(a attempt) string {
	s := ""
	switch {
	case a.err != nil:
		s = a.err.Error()
	default:
		s = "HTTP " + strconv.Itoa(a.code) + " " + http.StatusText(a.code)
	}
	if len(s) > maxErrorText {
		s = s[:maxErrorText]
	}
	return s
}

func (d *Dispatcher) logAttempt(ep Endpoint, c claim, a attempt, outcome string, next time.Time, lastErr string) {
	args := []any{"endpoint", ep, "delivery", c.ID, "event", c.EventType, "attempt", c.Attempts, "status", a.code}
	switch outcome {
	case OutcomeDelivered:
		d.log.Debug("webhook delivered", args...)
	case OutcomeRetry:
		d.log.Info("webhook attempt failed; retrying", append(args, "err", lastErr, "next", next)...)
	default:
		d.log.Warn("webhook delivery failed; giving up", append(args, "err", lastErr)...)
	}
}

// release gives back a claim whose attempt was abandoned because the dispatcher is
// stopping: it does not count, and the delivery is due at once (for another replica,
// or this one after a restart). The receiver may have got it all the same.
func (d *Dispatcher) release(ctx context.Context, c claim) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := d.pool.Exec(ctx, `UPDATE webhook_deliveries SET attempts = attempts - 1, next_attempt_at = $3
		WHERE id = $1 AND attempts = $2 AND status = 'pending'`, c.ID, c.Attempts, d.now())
	if err != nil {
		d.log.Warn("webhooks: releasing an abandoned attempt; it is retried when its lease ends", "delivery", c.ID, "err", err)
	}
}

// backoff is the wait after a delivery's attempt-th failed attempt, jittered by ±20%
// (r is uniform in [0, 1)).
func (c Config) backoff(attempt int, r float64) time.Duration {
	i := min(max(attempt-1, 0), len(c.Backoff)-1)
	return time.Duration(float64(c.Backoff[i]) * (0.8 + 0.4*r))
}
