package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/tickets"
)

// Outcome is the bot's answer to one turn as the queue stores it: replayed for a
// redelivered message, delivered again after a failed send.
type Outcome struct {
	ConversationID string              `json:"conversation_id"`
	Reply          string              `json:"reply"`
	Citations      []pipeline.Citation `json:"citations"`
	Confidence     float64             `json:"confidence"`
	Language       string              `json:"language,omitempty"`
	Intent         string              `json:"intent,omitempty"`
	WantsHuman     bool                `json:"wants_human"`
	Escalated      bool                `json:"escalated"`
	TicketID       string              `json:"ticket_id,omitempty"`
	Degraded       []string            `json:"degraded"`
}

// OutcomeOf is the outcome of a processed turn.
func OutcomeOf(t *pipeline.Turn) Outcome {
	return Outcome{ConversationID: t.ConversationID, Reply: t.Reply, Citations: nonNil(t.Citations), Confidence: t.Confidence,
		Language: t.Language, Intent: t.Intent, WantsHuman: t.WantsHuman, Escalated: t.Escalated, TicketID: t.TicketID,
		Degraded: nonNil(t.Degraded)}
}

// decodeOutcome reads a stored outcome; ok is false when none was stored (or it is unreadable).
func decodeOutcome(raw json.RawMessage) (out Outcome, ok bool) {
	if len(raw) == 0 || json.Unmarshal(raw, &out) != nil {
		return Outcome{}, false
	}
	return out, true
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ReplyRecorder is the store's last step of answering a turn (RecordAnswer).
type ReplyRecorder interface {
	RecordReply(ctx context.Context, r tickets.TurnReply) error
}

// RecordAnswer is the last step of answering a turn, the same for the receiver that
// answers inline (Flow.Answer) and the queue worker, so the flush-once invariant lives
// here: one synchronous commit logs the bot's reply and stores the outcome, fenced by
// t.Attempt. It follows the message's own commit, which persist let go without waiting
// for the WAL flush, so when it returns the message is durable too and only now may the
// customer be answered. done marks the turn answered (nothing left to deliver). taken:
// another attempt took the turn over, and its answer is the one kept.
func RecordAnswer(ctx context.Context, r ReplyRecorder, t *pipeline.Turn, done bool) (out Outcome, taken bool, err error) {
	out = OutcomeOf(t)
	err = r.RecordReply(ctx, tickets.TurnReply{Channel: t.Channel, ChannelMessageID: t.ChannelMessageID, Attempt: t.Attempt,
		ConversationID: t.ConversationID, Text: out.Reply, Outcome: out, Done: done})
	if errors.Is(err, tickets.ErrConflict) {
		return out, true, nil
	}
	return out, false, err
}

// ErrNoPipeline answers turns on a server that runs no message pipeline.
var ErrNoPipeline = errors.New("this server runs no message pipeline")

// Flow takes customer turns from the edge: Ingress makes a turn durable (media, redaction,
// persistence), Process answers it.
type Flow struct {
	Ingress, Process *pipeline.Pipeline
	Replies          ReplyRecorder
	// Turns renews the lease of a turn answered inline while its receiver works on it,
	// and lets a redelivery wait for the answer of its first delivery (nil: the lease is
	// not renewed, and a redelivery is acknowledged at once, with the answer if one was
	// recorded).
	Turns InlineTurns
	// RedeliveryWait bounds a redelivery's wait for the answer (0: DefaultRedeliveryWait).
	RedeliveryWait time.Duration
	// Releases hands back a turn whose inline answer failed (nil: the queue's workers
	// take it over when its lease runs out).
	Releases TurnReleaser
	Wake     func() // tells the queue's workers a turn is waiting (nil: they poll)
	Log      *slog.Logger
}

// TurnReleaser ends the lease of a turn whose receiver stopped answering it, so that
// a queue worker takes it at once (tickets.Queues implements it).
type TurnReleaser interface {
	ReleaseTurn(ctx context.Context, channel, channelMessageID string, attempt int) error
}

// releaseEvery is how often a release that found the store unavailable is tried again.
const releaseEvery = 250 * time.Millisecond

// Result is what Answer did with a turn.
type Result struct {
	Outcome
	// Duplicate: a redelivery; Outcome is the first delivery's answer, waited for while
	// that one is still being answered (empty if none came within Flow.RedeliveryWait).
	Duplicate bool
	// TakenOver: the receiver's lease on the turn ran out while it answered (it stalled)
	// and a queue worker took the turn over; Outcome is that worker's answer, the one
	// recorded (empty if none came within Flow.RedeliveryWait).
	TakenOver bool
	// Transcribing: the turn holds a voice note too long to transcribe while the client
	// waits; it is stored, and the answer follows in the conversation once a queue worker
	// transcribed it.
	Transcribing bool
}

func (f *Flow) wake() {
	if f.Wake != nil {
		f.Wake()
	}
}

// Receive makes a push channel's turn durable and wakes the queue's workers, which answer
// it through the channel's Sender. Once it returns nil the delivery may be acknowledged.
func (f *Flow) Receive(ctx context.Context, t *pipeline.Turn) (err error) {
	if f == nil || f.Ingress == nil {
		return ErrNoPipeline
	}
	ctx, span := tracing.StartTurn(ctx, t.Channel)
	defer func() { endTurn(span, metricsOf(f.Ingress), pipeline.TurnQueued, t, receiveOutcome(t, err), err) }()
	if err := f.Ingress.Run(ctx, t); err != nil {
		return err
	}
	if !t.Duplicate {
		f.wake()
	}
	return nil
}

// Answer runs a turn its receiver answers itself (t.Lease > 0: REST and web chat):
// ingress, then the answer inline, recorded as attempt 1 under a lease renewed while
// the receiver works on it. If this process dies after ingress, a queue worker answers
// the turn once the lease runs out, and a redelivery of the message (the client's
// retry) waits for that answer and returns it.
func (f *Flow) Answer(ctx context.Context, t *pipeline.Turn) (res Result, err error) {
	if f == nil || f.Ingress == nil || f.Process == nil {
		return Result{}, ErrNoPipeline
	}
	ctx, span := tracing.StartTurn(ctx, t.Channel)
	defer func() { endTurn(span, metricsOf(f.Process), pipeline.TurnInline, t, answerOutcome(t, res, err), err) }()
	return f.answer(ctx, t)
}

func (f *Flow) answer(ctx context.Context, t *pipeline.Turn) (Result, error) {
	if err := f.Ingress.Run(ctx, t); err != nil {
		return Result{}, stageTimedOut(ctx, err)
	}
	if t.Duplicate {
		return f.redelivery(ctx, t)
	}
	if t.VoicePending {
		// Stored without a lease: a queue worker transcribes and answers it.
		f.wake()
		return Result{Outcome: Outcome{ConversationID: t.ConversationID, Citations: []pipeline.Citation{}, Degraded: nonNil(t.Degraded)},
			Transcribing: true}, nil
	}
	t.Attempt = 1
	out, taken, err := f.answerLeased(ctx, t)
	if err != nil {
		f.release(t)
		return Result{}, stageTimedOut(ctx, err)
	}
	if !taken {
		return Result{Outcome: out}, nil
	}
	if f.Log != nil {
		f.Log.WarnContext(ctx, "a queue worker took over this turn; its answer is the one recorded", "turn", t)
	}
	return f.recordedAnswer(ctx, t, Result{TakenOver: true})
}

// answerLeased processes t and records its answer while a heartbeat renews the lease
// (when f.Turns is set). taken: another attempt took the turn over, and its answer is
// the one kept; a lease found lost stops the processing early.
func (f *Flow) answerLeased(ctx context.Context, t *pipeline.Turn) (out Outcome, taken bool, err error) {
	pctx := ctx
	if f.Turns != nil && t.Lease > 0 {
		var cancel context.CancelCauseFunc
		pctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		stop := heartbeat(ctx, f.Turns, nil, f.logger(), t, t.Lease, func() { cancel(errLeaseLost) })
		defer stop()
	}
	err = f.Process.Run(pctx, t)
	if errors.Is(context.Cause(pctx), errLeaseLost) {
		return Outcome{}, true, nil
	}
	if err != nil {
		return Outcome{}, false, err
	}
	return RecordAnswer(ctx, f.Replies, t, true)
}

// redelivery answers a message seen before with its first delivery's answer: stored,
// or waited for while that delivery is still being answered.
func (f *Flow) redelivery(ctx context.Context, t *pipeline.Turn) (Result, error) {
	if out, ok := decodeOutcome(t.StoredOutcome); ok {
		return Result{Outcome: out, Duplicate: true}, nil
	}
	return f.recordedAnswer(ctx, t, Result{Duplicate: true})
}

// recordedAnswer is res with the answer another attempt records for t, waited for
// (awaitAnswer); without one (or without f.Turns to wait on) the outcome is empty: the
// answer follows in the conversation.
func (f *Flow) recordedAnswer(ctx context.Context, t *pipeline.Turn, res Result) (Result, error) {
	res.Outcome = Outcome{ConversationID: t.ConversationID, Citations: []pipeline.Citation{}, Degraded: []string{}}
	if f.Turns == nil {
		return res, nil
	}
	out, ok, err := f.awaitAnswer(ctx, t)
	if err != nil {
		return Result{}, err
	}
	if ok {
		res.Outcome = out
	}
	return res, nil
}

func (f *Flow) logger() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}

// failLevel is the log level of an error that stopped a turn: what the customer's own
// input caused (an unknown or foreign conversation, a message id reused, bad input) is
// logged at INFO, anything
// else at ERROR.
func failLevel(err error) slog.Level {
	if errors.Is(err, tickets.ErrNotFound) || errors.Is(err, tickets.ErrForbidden) || errors.Is(err, tickets.ErrInvalid) ||
		errors.Is(err, tickets.ErrConflict) {
		return slog.LevelInfo
	}
	return slog.LevelError
}

// release hands t (stored, leased to this inline attempt, which failed) back to the
// queue in the background: when the store is what failed (PostgreSQL restarting) it
// tries again every releaseEvery until the store answers or the lease would have run
// out anyway. Without it the turn waits for its lease (30 s for REST and web chat), and
// the customer's retry of the same message id is acknowledged without an answer until
// then.
func (f *Flow) release(t *pipeline.Turn) {
	if f.Releases == nil || t.Lease <= 0 {
		return
	}
	channel, id := t.Channel, t.ChannelMessageID
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), t.Lease)
		defer cancel()
		for {
			err := f.Releases.ReleaseTurn(ctx, channel, id, 1)
			if err == nil {
				f.wake()
				return
			}
			if tickets.IsUnavailable(err) {
				sleep(ctx, nil, releaseEvery)
			}
			if ctx.Err() != nil || !tickets.IsUnavailable(err) {
				if f.Log != nil {
					f.Log.Warn("a failed turn was not handed back to the queue; a worker takes it when its lease runs out", "err", err)
				}
				return
			}
		}
	}()
}

// stageTimedOut makes a stage's own timeout (the request's context still live) an
// unavailable store: the fail-closed stages that time out wait on PostgreSQL or Redis
// (persist, handover, escalate), and one that does not answer in time is unavailable
// for now — a 503 with Retry-After, not a 504 — while PostgreSQL starts up after a
// crash, say.
func stageTimedOut(ctx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, tickets.ErrUnavailable) {
		return fmt.Errorf("%w: %w", tickets.ErrUnavailable, err)
	}
	return err
}
