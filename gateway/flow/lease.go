package flow

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/safe"
	"github.com/switchboard-cs/switchboard/tickets"
)

// A stored turn is answered by one attempt at a time: the receiver's own (REST and web
// chat, attempt 1) or a queue worker's. The attempt holds the turn under a lease that it
// renews (a heartbeat) while it works on it, so a lease runs out only when its holder
// died or hung, and only then may a queue worker take the turn over. The lease can
// therefore be short (a few seconds) however long an answer takes. Every write of the
// answer is fenced by the attempt (tickets.Queues.RecordReply), so should a live but
// stalled holder lose its lease, only one answer is ever recorded.

// DefaultInlineLease is the lease of a turn its receiver answers inline (REST and web
// chat): renewed every third of it while the receiver works on the turn, it runs out
// only this long after the receiver died, and a queue worker takes the turn over.
const DefaultInlineLease = 5 * time.Second

// DefaultRedeliveryWait is how long a redelivered message waits for its first
// delivery's answer before it is acknowledged without one.
const DefaultRedeliveryWait = 20 * time.Second

// errLeaseLost: a renewal found that the turn is no longer this attempt's (another
// attempt took it over, after this one's lease ran out).
var errLeaseLost = errors.New("the turn's lease was taken over by another attempt")

// LeaseKeeper renews an attempt's lease on a stored turn; the renewal wraps
// tickets.ErrConflict once the turn is no longer the attempt's. *tickets.Store is one.
type LeaseKeeper interface {
	ExtendLease(ctx context.Context, channel, channelMessageID string, attempt int, lease time.Duration) error
}

// InlineTurns keeps the turns a receiver answers inline (Flow.Answer): their leases are
// renewed while the receiver answers, and a redelivery reads its turn's state while it
// waits for the answer. *tickets.Store is one.
type InlineTurns interface {
	LeaseKeeper
	TurnState(ctx context.Context, channel, channelMessageID string) (tickets.TurnState, error)
}

// heartbeat renews attempt's lease on a turn every lease/3 until stop is called (which
// waits for a renewal in progress). When a renewal finds the turn taken over, it stops
// and calls lost (nil: nothing more is done; the attempt's fenced write will see it).
// A renewal that fails otherwise (the database is slow or away) is logged and tried
// again at the next tick: the lease holds for two more.
func heartbeat(ctx context.Context, keeper LeaseKeeper, panics *safe.Guard, log *slog.Logger, t *pipeline.Turn, lease time.Duration,
	lost func()) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer panics.Recover("flow.heartbeat", nil)
		tick := time.NewTicker(lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			err := keeper.ExtendLease(ctx, t.Channel, t.ChannelMessageID, t.Attempt, lease)
			switch {
			case err == nil || ctx.Err() != nil:
			case errors.Is(err, tickets.ErrConflict):
				if lost != nil {
					lost()
				}
				return
			default:
				log.WarnContext(ctx, "extend turn lease", "channel", t.Channel, "attempt", t.Attempt, "err", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// awaitAnswer waits until an attempt recorded the answer of t's stored turn, and returns
// it: for a redelivery whose first delivery is still being answered (by its live
// receiver, or by a queue worker once a dead receiver's lease ran out), and for a
// receiver whose turn was taken over. While the turn is not leased (its holder died) it
// wakes this process's queue workers. ok is false when the wait ended without an
// answer: the turn failed (a dead letter), its voice notes wait for the queue's
// transcription, or f.RedeliveryWait passed.
func (f *Flow) awaitAnswer(ctx context.Context, t *pipeline.Turn) (out Outcome, ok bool, err error) {
	wait := f.RedeliveryWait
	if wait <= 0 {
		wait = DefaultRedeliveryWait
	}
	deadline := time.Now().Add(wait)
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, 250*time.Millisecond) {
		st, err := f.Turns.TurnState(ctx, t.Channel, t.ChannelMessageID)
		if err != nil {
			return Outcome{}, false, err
		}
		if out, ok := decodeOutcome(st.Outcome); ok {
			return out, true, nil
		}
		if st.State != "pending" || st.VoicePending || time.Now().Add(delay).After(deadline) {
			return Outcome{}, false, nil
		}
		if !st.Leased {
			f.wake() // its holder died: a queue worker takes it over
		}
		select {
		case <-ctx.Done():
			return Outcome{}, false, ctx.Err()
		case <-time.After(delay):
		}
	}
}
