package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

// Sender delivers a reply to a customer on one channel; replyTo is the
// address the channel adapter stored with the conversation.
type Sender interface {
	Send(ctx context.Context, replyTo json.RawMessage, text string) error
}

// Worker answers stored turns from the durable queue: webhook turns, and
// REST turns whose request died before answering. Any number of workers on
// any number of instances may run; each turn goes to one of them.
type Worker struct {
	Store       *tickets.Store
	Process     *pipeline.Pipeline
	Outbound    map[string]Sender
	Log         *slog.Logger
	Lease       time.Duration // how long one attempt may take (0: 1m)
	Poll        time.Duration // idle wait between queue polls (0: 200ms)
	MaxAttempts int           // then the turn is marked failed (0: 5)
	// Speech transcribes the voice notes a turn's ingress left to the queue
	// (PipelineDeps.SpeechResolver); nil leaves them as they were stored.
	Speech SpeechResolver
	wake   chan struct{}
	once   sync.Once
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

// Run works the queue until ctx ends.
// Several goroutines may Run one Worker.
func (w *Worker) Run(ctx context.Context) {
	poll := w.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	for ctx.Err() == nil {
		did, err := w.Once(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("turn queue", "err", err)
		}
		if !did {
			select {
			case <-ctx.Done():
			case <-w.wakeCh():
			case <-time.After(poll):
			}
		}
	}
}

// Once delivers one waiting outbound reply or answers one turn; did is
// false when both queues were empty.
func (w *Worker) Once(ctx context.Context) (did bool, err error) {
	if did, err := w.deliverOne(ctx); did || err != nil {
		return did, err
	}
	return w.answerOne(ctx)
}

// deliverOne sends one queued reply (an agent's) to its channel.
func (w *Worker) deliverOne(ctx context.Context) (bool, error) {
	lease, attempts := w.Lease, w.MaxAttempts
	if lease <= 0 {
		lease = time.Minute
	}
	if attempts <= 0 {
		attempts = 5
	}
	o, ok, err := w.Store.ClaimOutbound(ctx, lease)
	if err != nil || !ok {
		return false, err
	}
	// The send gets half the lease; recording the result gets its own time, so
	// a slow send cannot leave a delivered reply unrecorded.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lease/2)
	sendErr := w.send(sctx, o.Channel, o.ReplyTo, o.Text)
	cancel()
	if sendErr != nil {
		w.Log.Warn("reply not delivered; will retry", "channel", o.Channel, "attempt", o.Attempts, "err", sendErr)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return true, w.Store.FinishOutbound(rctx, o, sendErr, attempts)
}

// answerOne claims and answers one turn.
func (w *Worker) answerOne(ctx context.Context) (did bool, err error) {
	lease, attempts := w.Lease, w.MaxAttempts
	if lease <= 0 {
		lease = time.Minute
	}
	if attempts <= 0 {
		attempts = 5
	}
	p, ok, err := w.Store.ClaimTurn(ctx, lease)
	if err != nil || !ok {
		return false, err
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*lease)
	defer cancel()
	stopBeat := w.heartbeat(actx, p, lease)
	err = w.answer(actx, p)
	stopBeat()
	if err != nil {
		w.Log.Warn("turn failed; will retry", "channel", p.Channel, "attempt", p.Attempts, "err", err)
		return true, w.Store.FailTurn(actx, p.Channel, p.ChannelMessageID, p.Attempts, err, attempts)
	}
	return true, nil
}

// heartbeat renews the turn's lease every lease/3 so no other worker takes
// over a slow answer that is still progressing.
func (w *Worker) heartbeat(ctx context.Context, p tickets.PendingTurn, lease time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := w.Store.ExtendLease(ctx, p.Channel, p.ChannelMessageID, p.Attempts, lease); err != nil && ctx.Err() == nil {
					w.Log.Warn("extend turn lease", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// answer processes a turn once: the outcome is saved before delivery, so a
// retry after a failed send only sends again.
func (w *Worker) answer(ctx context.Context, p tickets.PendingTurn) error {
	var out MessageReply
	if len(p.Outcome) == 0 || json.Unmarshal(p.Outcome, &out) != nil {
		if w.Speech != nil {
			if err := w.Speech.ResolveSpeech(ctx, &p); err != nil {
				if errors.Is(err, tickets.ErrConflict) {
					return nil // another worker took the turn over
				}
				return err
			}
		}
		t := &pipeline.Turn{Channel: p.Channel, ChannelMessageID: p.ChannelMessageID, ConversationID: p.ConversationID,
			CustomerID: p.CustomerID, CustomerRef: p.CustomerRef, Text: p.Text, ReplyTo: p.ReplyTo}
		if err := w.Process.Run(ctx, t); err != nil {
			return err
		}
		out = replyOf(t)
		if err := w.Store.RecordReply(ctx, p.Channel, p.ChannelMessageID, p.Attempts, p.ConversationID, out.Reply, out, false); err != nil {
			if errors.Is(err, tickets.ErrConflict) {
				return nil // another worker took the turn over and answers it
			}
			return err
		}
	}
	if out.Reply != "" {
		if err := w.send(ctx, p.Channel, p.ReplyTo, out.Reply); err != nil {
			return err
		}
	}
	return w.Store.CompleteTurn(ctx, p.Channel, p.ChannelMessageID, p.Attempts, out)
}

var errNoSender = errors.New("no outbound sender for channel")

func (w *Worker) send(ctx context.Context, channel string, replyTo json.RawMessage, text string) error {
	s, ok := w.Outbound[channel]
	if !ok {
		if channel == "rest" {
			return nil // REST clients read the conversation
		}
		return fmt.Errorf("%w %q", errNoSender, channel)
	}
	return s.Send(ctx, replyTo, text)
}
