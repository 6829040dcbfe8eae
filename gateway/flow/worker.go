package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/safe"
	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/tickets"
)

// Sender delivers a reply to a customer on one channel; replyTo is the
// address the channel adapter stored with the conversation.
type Sender interface {
	Send(ctx context.Context, replyTo json.RawMessage, text string) error
}

// Worker answers stored turns from the durable queue: webhook turns, and
// REST turns whose request died before answering; and it delivers agents'
// replies to push channels from the outbox. Any number of workers on any
// number of instances may run; each row goes to one of them. A failed attempt
// is retried with jittered, growing delays for Retry.For, then it becomes a
// dead letter (state failed) that `switchboard outbox retry` re-queues.
type Worker struct {
	Store    TurnQueue
	Process  *pipeline.Pipeline
	Outbound map[string]Sender
	Log      *slog.Logger
	Lease    time.Duration // how long one attempt may take (0: 1m)
	Poll     time.Duration // idle wait between queue polls (0: 200ms)
	// Retry is the backoff, the retry window and the limits of attempts and of
	// abandoned attempts (crashes) before a row is given up.
	Retry tickets.RetryPolicy
	// Grace is how long claimed work may go on after Run's context ends (a
	// shutdown) before its own context is cancelled (0: 10s).
	Grace time.Duration
	// Metrics exports the queues' gauges and counters (nil: none).
	Metrics *QueueMetrics
	// Panics recovers a panicking attempt, which then counts as failed (nil:
	// recovered all the same, logged through slog.Default).
	Panics *safe.Guard
	// Redactor scrubs the error of a failed send of an agent's original text
	// before it is logged or stored, in case the channel quoted it back (nil:
	// the detail of such errors is withheld).
	Redactor tickets.Redactor

	wake    chan struct{}
	once    sync.Once
	outage  outage
	failing failingChannels
}

func (w *Worker) wakeCh() chan struct{} {
	w.once.Do(func() { w.wake = make(chan struct{}, 1) })
	return w.wake
}

// Wake tells an idle worker that a turn is waiting (it polls anyway).
func (w *Worker) Wake() {
	select {
	case w.wakeCh() <- struct{}{}:
	default:
	}
}

func (w *Worker) lease() time.Duration {
	if w.Lease <= 0 {
		return time.Minute
	}
	return w.Lease
}

// Run works the queues until ctx ends. Several goroutines may Run one
// Worker. While the store is unreachable it backs off (with jitter) and logs
// one line when the queue pauses and one when it resumes.
func (w *Worker) Run(ctx context.Context) {
	poll := w.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	var failures int
	for ctx.Err() == nil {
		did, err := w.guardedOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !storeDown(err):
			w.Log.Warn("turn queue", "err", err)
			sleep(ctx, w.wakeCh(), poll)
			continue
		case err != nil:
			failures++
			w.outage.down(w.Log, err)
			sleep(ctx, w.wakeCh(), pauseDelay(failures))
			continue
		}
		failures = 0
		w.outage.up(w.Log)
		if !did {
			sleep(ctx, w.wakeCh(), poll)
		}
	}
}

func (w *Worker) guardedOnce(ctx context.Context) (did bool, err error) {
	defer w.Panics.Recover("worker", &err)
	return w.Once(ctx)
}

// storeDown: an error from the queue itself (not about one row, nor a bug)
// means the store cannot be reached.
func storeDown(err error) bool {
	return !errors.Is(err, tickets.ErrNotFound) && !errors.Is(err, tickets.ErrConflict) && !errors.Is(err, tickets.ErrInvalid) &&
		!errors.Is(err, safe.ErrPanic)
}

// pauseDelay is the wait after the n-th consecutive failure to reach the
// store: jittered, growing from 200ms to at most 10s.
func pauseDelay(n int) time.Duration {
	return tickets.RetryPolicy{Backoff: 200 * time.Millisecond, MaxBackoff: 10 * time.Second}.Delay(n)
}

func sleep(ctx context.Context, wake <-chan struct{}, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// outage remembers whether the store is unreachable, so that the workers of a
// process log an outage once, not once per poll.
type outage struct {
	mu    sync.Mutex
	since time.Time
}

func (o *outage) down(log *slog.Logger, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		o.since = time.Now()
		log.Error("turn queue paused: the store is unreachable; retrying with backoff", "err", err)
	}
}

func (o *outage) paused() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.since.IsZero()
}

func (o *outage) up(log *slog.Logger) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.since.IsZero() {
		log.Info("turn queue resumed", "paused_for", time.Since(o.since).Round(time.Millisecond))
		o.since = time.Time{}
	}
}

// Once delivers one waiting outbound reply or answers one turn; did is
// false when both queues were empty.
func (w *Worker) Once(ctx context.Context) (did bool, err error) {
	if did, err := w.DeliverOne(ctx); did || err != nil {
		return did, err
	}
	return w.answerOne(ctx)
}

// workContext is the context of work claimed under ctx: it outlives ctx by
// Grace (a shutdown lets work in progress finish for that long), and ends at
// timeout in any case.
func (w *Worker) workContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	grace := w.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-wctx.Done():
		case <-t.C:
			cancel()
		}
	})
	return wctx, func() { stop(); cancel() }
}

// recordContext is for writing an attempt's result: it has its own time, so
// a slow or interrupted attempt is still recorded.
func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// answerOne claims and answers one turn.
func (w *Worker) answerOne(ctx context.Context) (did bool, err error) {
	policy := w.Retry.WithDefaults()
	p, ok, err := w.Store.ClaimTurn(ctx, w.lease(), policy.MaxAbandoned)
	if err != nil || !ok {
		return false, err
	}
	actx, cancel := w.workContext(ctx, 10*w.lease())
	// a lease lost to another attempt is left to the fenced writes: they report it
	stopBeat := heartbeat(actx, w.Store, w.Panics, w.Log, pendingTurn(p), w.lease(), nil)
	err = w.guardedAnswer(actx, p)
	stopBeat()
	cancel()
	if err == nil {
		w.Metrics.result(tickets.QueueTurns, p.Channel, resultDelivered)
		return true, nil
	}
	rctx, cancel := recordContext(ctx)
	defer cancel()
	dead, ferr := w.Store.FailTurn(rctx, p.Channel, p.ChannelMessageID, p.Attempts, err, policy)
	if ferr != nil {
		return true, ferr
	}
	w.failed(tickets.QueueTurns, p.Channel, p.Attempts, err, dead)
	return true, nil
}

// failed logs and counts a failed attempt.
func (w *Worker) failed(queue, channel string, attempt int, err error, dead bool) {
	what := map[string]string{tickets.QueueTurns: "turn", tickets.QueueOutbox: "reply"}[queue]
	if dead {
		w.Metrics.result(queue, channel, resultDeadLettered)
		w.Log.Error(what+" given up (dead letter): re-queue it with switchboard outbox retry", "channel", channel, "attempt", attempt, "err", err)
		return
	}
	w.Metrics.result(queue, channel, resultRetried)
	w.Log.Warn(what+" failed; will retry", "channel", channel, "attempt", attempt, "err", err)
}

// guardedAnswer answers a stored turn under a turn span of its own: the queue's attempts
// are traces apart from the request that stored the turn.
func (w *Worker) guardedAnswer(ctx context.Context, p tickets.PendingTurn) (err error) {
	t := pendingTurn(p)
	ctx, span := tracing.StartTurn(ctx, p.Channel)
	outcome := turnResent
	defer func() {
		if err != nil {
			outcome = failedOutcome(err)
		}
		endTurn(span, metricsOf(w.Process), pipeline.TurnQueued, t, outcome, err)
	}()
	defer w.Panics.Recover("worker.answer", &err)
	return w.answer(ctx, p, t, &outcome)
}

// answer processes a turn once: the outcome is saved before delivery, so a
// retry after a failed send only sends again. An answer whose conversation has
// older replies still to deliver is deferred (replyWait) until they went out.
// It names what it did in outcome.
func (w *Worker) answer(ctx context.Context, p tickets.PendingTurn, t *pipeline.Turn, outcome *string) error {
	out, ok := decodeOutcome(p.Outcome)
	if !ok {
		err := w.Process.Run(ctx, t)
		if errors.Is(err, errTakenOver) {
			*outcome = turnTakenOver
			return nil // another worker took the turn over and answers it
		}
		if err != nil {
			return err
		}
		var taken bool
		if out, taken, err = RecordAnswer(ctx, w.Store, t, false); err != nil || taken {
			*outcome = turnTakenOver
			return err // taken: another worker took the turn over and answers it
		}
		*outcome = answeredOutcome(t)
	}
	if out.Reply != "" {
		if !ok { // just answered: its conversation's older replies go first
			due, err := w.Store.ReplyDue(ctx, p.ConversationID, p.MessageID)
			if err != nil {
				return err
			}
			if !due { // counted as answered now; the later delivery as resent
				return w.Store.DeferTurn(ctx, p.Channel, p.ChannelMessageID, p.Attempts, replyWait)
			}
		}
		if err := w.send(ctx, p.Channel, p.ReplyTo, out.Reply); err != nil {
			return err
		}
	}
	return w.Store.CompleteTurn(ctx, p.Channel, p.ChannelMessageID, p.Attempts, out)
}

// pendingTurn is a stored turn as the process pipeline takes it: its redacted text and
// the facts its ingress stored (photo labels and categories, voice notes left to the
// queue), under the worker's attempt, received when the queue received it (so its
// latency counts the wait in the queue).
func pendingTurn(p tickets.PendingTurn) *pipeline.Turn {
	t := &pipeline.Turn{Channel: p.Channel, ChannelMessageID: p.ChannelMessageID, ConversationID: p.ConversationID,
		CustomerID: p.CustomerID, CustomerRef: p.CustomerRef, MessageID: p.MessageID, Text: p.Text, ReplyTo: p.ReplyTo,
		Attempt: p.Attempts, ReceivedAt: p.ReceivedAt, VoicePending: p.Facts.VoicePending, Categories: p.Facts.Categories}
	for _, l := range p.Facts.Labels {
		t.Labels = append(t.Labels, pipeline.Label(l))
	}
	return t
}

var errNoSender = errors.New("no outbound sender for channel")

// replyWait is how long an answer waits for its conversation's older replies
// before its turn is handed out again.
const replyWait = 250 * time.Millisecond

func (w *Worker) send(ctx context.Context, channel string, replyTo json.RawMessage, text string) error {
	s, ok := w.Outbound[channel]
	if !ok {
		if channel == "rest" {
			return nil // REST clients read the conversation
		}
		return fmt.Errorf("%w %q", errNoSender, channel)
	}
	err := s.Send(ctx, replyTo, text)
	w.noteSend(ctx, channel, err)
	return err
}

// noteSend remembers that a send to channel failed; on the first success after
// failures it makes the channel's rows that wait out a backoff due now, so a
// channel back from an outage gets its backlog at once rather than after each
// row's backoff (up to 10 minutes after a long outage).
func (w *Worker) noteSend(ctx context.Context, channel string, err error) {
	if !w.failing.note(channel, err == nil) || w.Store == nil {
		return
	}
	rctx, cancel := recordContext(ctx)
	defer cancel()
	n, rerr := w.Store.RetryChannelNow(rctx, channel)
	if rerr != nil {
		w.Log.Warn("channel answers again; its waiting rows keep their backoff", "channel", channel, "err", rerr)
		return
	}
	w.Log.Info("channel answers again: its waiting turns and replies are retried now", "channel", channel, "rows", n)
	w.Wake()
}

// failingChannels are the channels whose last send from this process failed.
type failingChannels struct {
	mu  sync.Mutex
	set map[string]bool
}

// note records a send's result; it reports whether ok ends a run of failures.
func (f *failingChannels) note(channel string, ok bool) (recovered bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !ok {
		if f.set == nil {
			f.set = map[string]bool{}
		}
		f.set[channel] = true
		return false
	}
	recovered = f.set[channel]
	delete(f.set, channel)
	return recovered
}
