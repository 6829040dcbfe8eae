package flow

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

// leaseInbox stores every message as new, or as a redelivery without an answer yet.
type leaseInbox struct {
	Inbox
	duplicate bool
}

func (l leaseInbox) RecordInbound(context.Context, tickets.Inbound) (tickets.InboundResult, error) {
	return tickets.InboundResult{ConversationID: "c-1", CustomerID: "cu-1", MessageID: 7, Duplicate: l.duplicate}, nil
}

// scriptedTurns answers TurnState from states in turn (repeating the last), and
// ExtendLease with renewErr; it counts both.
type scriptedTurns struct {
	mu       sync.Mutex
	states   []tickets.TurnState
	renewErr error
	reads    int
	renewals int
}

func (s *scriptedTurns) ExtendLease(context.Context, string, string, int, time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renewals++
	return s.renewErr
}

func (s *scriptedTurns) TurnState(context.Context, string, string) (tickets.TurnState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.states[min(s.reads, len(s.states)-1)]
	s.reads++
	return st, nil
}

// TestInlineAnswerUnderALease: a receiver renews its lease while it answers, and stops
// (its answer unrecorded) once a renewal finds the turn taken over, returning the answer
// recorded by the attempt that took it; a redelivery waits for its first delivery's
// answer, and is acknowledged without one when the turn failed, waits for the queue's
// transcription, or the wait is over.
func TestInlineAnswerUnderALease(t *testing.T) {
	const lease = 60 * time.Millisecond
	winner := Outcome{ConversationID: "c-1", Reply: "Refunds take 5 days.", Citations: []pipeline.Citation{}, Confidence: 0.9, Degraded: []string{}}
	raw, _ := json.Marshal(winner)
	own := Outcome{ConversationID: "c-1", Reply: "my own answer", Citations: []pipeline.Citation{}, Confidence: 1, Language: "en", Degraded: []string{}}
	empty := Outcome{ConversationID: "c-1", Citations: []pipeline.Citation{}, Degraded: []string{}}
	pending := tickets.TurnState{State: "pending", Leased: true}
	type counts struct{ Recorded, Wakes int }
	for _, tc := range []struct {
		name      string
		duplicate bool
		work      time.Duration // the answer's time
		states    []tickets.TurnState
		renewErr  error
		want      Result
		counts    counts
		renewals  bool // the lease was renewed at least twice
	}{
		{"answered inline, slower than the lease", false, 4 * lease, []tickets.TurnState{pending}, nil,
			Result{Outcome: own}, counts{Recorded: 1}, true},
		{"taken over while answering", false, 10 * time.Second, []tickets.TurnState{{State: "pending", Leased: true}, {State: "pending", Outcome: raw}},
			tickets.ErrConflict, Result{Outcome: winner, TakenOver: true}, counts{}, false},
		{"redelivery: its live receiver answers meanwhile", true, 0, []tickets.TurnState{pending, pending, {State: "done", Outcome: raw}}, nil,
			Result{Outcome: winner, Duplicate: true}, counts{}, false},
		{"redelivery: its receiver died, a worker answers", true, 0, []tickets.TurnState{{State: "pending"}, {State: "pending", Leased: true, Outcome: raw}}, nil,
			Result{Outcome: winner, Duplicate: true}, counts{Wakes: 1}, false},
		{"redelivery: the turn failed", true, 0, []tickets.TurnState{{State: "failed"}}, nil,
			Result{Outcome: empty, Duplicate: true}, counts{}, false},
		{"redelivery: a voice note the queue transcribes", true, 0, []tickets.TurnState{{State: "pending", VoicePending: true}}, nil,
			Result{Outcome: empty, Duplicate: true}, counts{}, false},
		{"redelivery: no answer within the wait", true, 0, []tickets.TurnState{pending}, nil,
			Result{Outcome: empty, Duplicate: true}, counts{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			turns := &scriptedTurns{states: tc.states, renewErr: tc.renewErr}
			rec := &recorder{}
			slow := pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
				select {
				case <-time.After(tc.work):
				case <-ctx.Done():
					return ctx.Err()
				}
				t.Reply, t.Confidence, t.Language = "my own answer", 1, "en"
				return nil
			})
			m, log := pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler)
			var wakes int
			persist := persistStage(leaseInbox{duplicate: tc.duplicate}, 0)
			f := &Flow{Ingress: pipeline.New(m, log, pipeline.Step{Name: "persist", Stage: persist, FailClosed: true}),
				Process: pipeline.New(m, log, pipeline.Step{Name: "respond", Stage: slow}), Replies: rec, Turns: turns,
				RedeliveryWait: 300 * time.Millisecond, Wake: func() { wakes++ }}
			start := time.Now()
			res, err := f.Answer(context.Background(), &pipeline.Turn{Channel: "rest", ChannelMessageID: "k1", CustomerRef: "web:1", Lease: lease,
				Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: "where is my refund?"}}})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.counts, counts{Recorded: len(rec.replies), Wakes: wakes}); diff != "" {
				t.Errorf("answers recorded and workers woken (-want +got):\n%s", diff)
			}
			if tc.renewals && turns.renewals < 2 {
				t.Errorf("the lease was renewed %d times in %v; want every %v", turns.renewals, time.Since(start), lease/3)
			}
			if took := time.Since(start); tc.work > time.Second && took > 2*time.Second {
				t.Errorf("a receiver whose turn was taken over went on answering for %v", took)
			}
		})
	}
}
