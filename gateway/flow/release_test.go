package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

// flakyReleaser fails its first `fail` releases with err, then records them.
type flakyReleaser struct {
	mu       sync.Mutex
	fail     int
	err      error
	calls    int
	released []string
	done     chan struct{}
}

func (f *flakyReleaser) ReleaseTurn(_ context.Context, channel, id string, attempt int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.fail {
		return f.err
	}
	f.released = append(f.released, fmt.Sprintf("%s/%s/%d", channel, id, attempt))
	close(f.done)
	return nil
}

// TestFailedInlineAnswerHandsTheTurnBack: a turn its receiver stored and then failed to
// answer (the store went away mid-turn) is released to the queue — retried while the
// store is unavailable — and the queue's workers are woken; a turn that failed for
// another reason is released once.
func TestFailedInlineAnswerHandsTheTurnBack(t *testing.T) {
	down := fmt.Errorf("record reply: %w", tickets.ErrUnavailable)
	for _, tc := range []struct {
		name      string
		fail      int
		err       error
		wantCalls int
		released  bool
	}{
		{"released at once", 0, nil, 1, true},
		{"released once the store is back", 3, down, 4, true},
		{"not retried after another error", 1, errors.New("no such turn"), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := &flakyReleaser{fail: tc.fail, err: tc.err, done: make(chan struct{})}
			woken := make(chan struct{}, 1)
			m := pipeline.NewMetrics(prometheus.NewRegistry())
			log := slog.New(slog.DiscardHandler)
			stored := pipeline.StageFunc(func(context.Context, *pipeline.Turn) error { return nil })
			failing := pipeline.StageFunc(func(context.Context, *pipeline.Turn) error { return down })
			f := &Flow{Ingress: pipeline.New(m, log, pipeline.Step{Name: "persist", Stage: stored}),
				Process:  pipeline.New(m, log, pipeline.Step{Name: "respond", Stage: failing, FailClosed: true}),
				Releases: rel, Wake: func() { woken <- struct{}{} }, Log: log}
			turn := &pipeline.Turn{Channel: "rest", ChannelMessageID: "k1", Lease: 5 * time.Second,
				Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: "hi"}}}
			if _, err := f.Answer(context.Background(), turn); !tickets.IsUnavailable(err) {
				t.Fatalf("answer: %v; want the store's unavailability", err)
			}
			select {
			case <-rel.done:
			case <-time.After(time.Duration(tc.fail+4) * releaseEvery):
			}
			time.Sleep(2 * releaseEvery) // no more calls come
			rel.mu.Lock()
			defer rel.mu.Unlock()
			if rel.calls != tc.wantCalls {
				t.Errorf("%d release calls; want %d", rel.calls, tc.wantCalls)
			}
			var want []string
			if tc.released {
				want = []string{"rest/k1/1"}
				select {
				case <-woken:
				default:
					t.Error("the workers were not woken after the release")
				}
			}
			if diff := cmp.Diff(want, rel.released); diff != "" {
				t.Errorf("released (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStageTimeoutIsAnUnavailableStore: a stage that ran out of its own time (the
// request still live) reports an unavailable store (503, Retry-After); the request's own
// deadline or cancellation stays what it is.
func TestStageTimeoutIsAnUnavailableStore(t *testing.T) {
	live := context.Background()
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	stage := fmt.Errorf("persist: %w", context.DeadlineExceeded)
	for _, tc := range []struct {
		name        string
		ctx         context.Context
		err         error
		unavailable bool
	}{
		{"the stage's timeout", live, stage, true},
		{"the request's deadline", expired, stage, false},
		{"another error", live, errors.New("boom"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := stageTimedOut(tc.ctx, tc.err)
			if tickets.IsUnavailable(got) != tc.unavailable || !errors.Is(got, tc.err) {
				t.Errorf("stageTimedOut = %v; unavailable %v, want %v (and the cause kept)", got, tickets.IsUnavailable(got), tc.unavailable)
			}
		})
	}
}
