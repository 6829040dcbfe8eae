package tickets

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy says when a failed attempt of a queued turn or reply is tried again, and
// when the row is given up: it then becomes a dead letter (state failed), counted in
// the queue metrics, shown on the ticket and re-queued by `switchboard outbox retry`.
type RetryPolicy struct {
	// For is how long a row is retried after it was queued (or re-queued); 0: 24h.
	For time.Duration
	// MaxAttempts also gives a row up after this many attempts in all; 0: no limit.
	MaxAttempts int
	// Backoff bounds the first wait; each further attempt doubles the bound up to
	// MaxBackoff, and the wait is drawn uniformly below it (full jitter), so many rows
	// failing together do not retry together. 0: 2s and 10m.
	Backoff, MaxBackoff time.Duration
	// MaxAbandoned gives a row up after this many attempts that never reported back
	// (the worker crashed or hung until its lease ran out); 0: 3.
	MaxAbandoned int
}

// Default retry settings.
const (
	DefaultRetryFor     = 24 * time.Hour
	DefaultBackoff      = 2 * time.Second
	DefaultMaxBackoff   = 10 * time.Minute
	DefaultMaxAbandoned = 3
)

// WithDefaults fills the zero fields.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.For <= 0 {
		p.For = DefaultRetryFor
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.Backoff {
		p.MaxBackoff = p.Backoff
	}
	if p.MaxAbandoned <= 0 {
		p.MaxAbandoned = DefaultMaxAbandoned
	}
	return p
}

// Delay is the wait after failed attempt number attempt (1 for the first): uniform in
// [0, min(MaxBackoff, Backoff·2^(attempt-1))).
func (p RetryPolicy) Delay(attempt int) time.Duration {
	p = p.WithDefaults()
	bound := p.Backoff
	for i := 1; i < attempt && bound < p.MaxBackoff; i++ {
		bound *= 2
	}
	bound = min(bound, p.MaxBackoff)
	return time.Duration(rand.Int64N(int64(bound)) + 1)
}
