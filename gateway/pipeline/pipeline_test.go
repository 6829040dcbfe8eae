package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func record(name string, trace *[]string, err error) Stage {
	return StageFunc(func(ctx context.Context, t *Turn) error {
		*trace = append(*trace, name)
		return err
	})
}

func TestPipelinePolicy(t *testing.T) {
	boom := errors.New("boom")
	slow := StageFunc(func(ctx context.Context, t *Turn) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
			return nil
		}
	})
	panics := StageFunc(func(context.Context, *Turn) error { panic("bad stage") })
	for _, tc := range []struct {
		name         string
		steps        func(trace *[]string) []Step
		wantTrace    []string
		wantDegraded []string
		wantAbort    bool
	}{
		{"all ok in order", func(tr *[]string) []Step {
			return []Step{{Name: "a", Stage: record("a", tr, nil)}, {Name: "b", Stage: record("b", tr, nil)}}
		}, []string{"a", "b"}, nil, false},
		{"fail open continues degraded", func(tr *[]string) []Step {
			return []Step{{Name: "asr", Stage: record("asr", tr, boom)}, {Name: "redact", Stage: record("redact", tr, nil), FailClosed: true}}
		}, []string{"asr", "redact"}, []string{"asr"}, false},
		{"fail closed aborts", func(tr *[]string) []Step {
			return []Step{{Name: "redact", Stage: record("redact", tr, boom), FailClosed: true}, {Name: "persist", Stage: record("persist", tr, nil)}}
		}, []string{"redact"}, nil, true},
		{"timeout fails open", func(tr *[]string) []Step {
			return []Step{{Name: "vision", Stage: slow, Timeout: 20 * time.Millisecond}, {Name: "b", Stage: record("b", tr, nil)}}
		}, []string{"b"}, []string{"vision"}, false},
		{"panic is contained", func(tr *[]string) []Step {
			return []Step{{Name: "bad", Stage: panics}, {Name: "b", Stage: record("b", tr, nil)}}
		}, []string{"b"}, []string{"bad"}, false},
		{"skip", func(tr *[]string) []Step {
			return []Step{{Name: "asr", Stage: record("asr", tr, nil), Skip: func(*Turn) bool { return true }}, {Name: "b", Stage: record("b", tr, nil)}}
		}, []string{"b"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var trace []string
			p := New(NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler), tc.steps(&trace)...)
			turn := &Turn{}
			err := p.Run(context.Background(), turn)
			if got := errors.Is(err, ErrAborted); got != tc.wantAbort {
				t.Fatalf("aborted %v (%v), want %v", got, err, tc.wantAbort)
			}
			if diff := cmp.Diff(tc.wantTrace, trace); diff != "" {
				t.Errorf("stages run (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantDegraded, turn.Degraded); diff != "" {
				t.Errorf("degraded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPipelineMetricsAndCancellation(t *testing.T) {
	reg := prometheus.NewRegistry()
	var trace []string
	p := New(NewMetrics(reg), slog.New(slog.DiscardHandler), Step{Name: "a", Stage: record("a", &trace, nil)}, Step{Name: "b", Stage: record("b", &trace, errors.New("x"))})
	turn := &Turn{}
	if err := p.Run(context.Background(), turn); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(p.outcomes.WithLabelValues("b", "degraded")); got != 1 {
		t.Fatalf("degraded counter %v", got)
	}
	if _, ok := turn.Timings["a"]; !ok {
		t.Fatal("no timing for stage a")
	}
	if n := testutil.CollectAndCount(p.seconds); n != 2 {
		t.Fatalf("latency series %d, want 2", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Run(ctx, &Turn{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
}

func TestTurnLogsNoRawText(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	turn := &Turn{Channel: "rest", Parts: []Part{{Kind: PartText, Text: "my phone is 13812345678"}}, Transcript: "secret words",
		Text: "my phone is [PHONE_1]", Redactions: 1}
	log.Info("turn", "turn", turn)
	for _, raw := range []string{"13812345678", "secret words"} {
		if strings.Contains(buf.String(), raw) {
			t.Fatalf("log line holds raw %q: %s", raw, buf.String())
		}
	}
	if got := turn.RawText(); got != "my phone is 13812345678\nsecret words" {
		t.Fatalf("RawText %q", got)
	}
}

// TestFailClosedErrorReadsAsItsCause: the error of an aborted run is the stage's own
// (what a client may be told), matches ErrAborted and the cause, and is logged at the
// level the caller gives its class.
func TestFailClosedErrorReadsAsItsCause(t *testing.T) {
	errClient := errors.New("not found")
	for _, tc := range []struct {
		name      string
		cause     error
		levels    func(error) slog.Level
		wantLevel string
	}{
		{"client's cause, classified", fmt.Errorf("conversation %q: %w", "xyz", errClient), func(err error) slog.Level {
			if errors.Is(err, errClient) {
				return slog.LevelInfo
			}
			return slog.LevelError
		}, "INFO"},
		{"server's cause, classified", errors.New("connection refused"), func(error) slog.Level { return slog.LevelError }, "ERROR"},
		{"unclassified", fmt.Errorf("conversation %q: %w", "xyz", errClient), nil, "ERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := New(NewMetrics(prometheus.NewRegistry()), slog.New(slog.NewJSONHandler(&buf, nil)),
				Step{Name: "persist", Stage: record("persist", new([]string), tc.cause), FailClosed: true})
			if tc.levels != nil {
				p.SetLevels(tc.levels)
			}
			err := p.Run(context.Background(), &Turn{})
			var abort *AbortError
			if !errors.Is(err, ErrAborted) || !errors.Is(err, tc.cause) || !errors.As(err, &abort) || abort.Stage != "persist" {
				t.Fatalf("error %v does not match ErrAborted, its cause and its stage", err)
			}
			if err.Error() != tc.cause.Error() {
				t.Fatalf("error reads %q, want the cause's own %q", err, tc.cause)
			}
			var line struct{ Level, Msg, Stage string }
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatal(err)
			}
			if line.Level != tc.wantLevel || line.Stage != "persist" {
				t.Fatalf("logged %+v, want level %s", line, tc.wantLevel)
			}
		})
	}
}

// turnSeries are the turn metrics of reg: switchboard_turns_total by "path outcome", and
// switchboard_turn_seconds' sample count by "path".
func turnSeries(t *testing.T, reg prometheus.Gatherer) (ended map[string]float64, latencies map[string]uint64) {
	t.Helper()
	ended, latencies = map[string]float64{}, map[string]uint64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "switchboard_turn_seconds":
				latencies[labels["path"]] = s.GetHistogram().GetSampleCount()
			case "switchboard_turns_total":
				ended[labels["path"]+" "+labels["outcome"]] = s.GetCounter().GetValue()
			}
		}
	}
	return ended, latencies
}

// TestTurnSecondsStartAtZero: both turn paths, and every outcome each path can end in,
// are exported before any turn (so a rate over them is defined from the start), and
// ObserveTurn counts on its own path.
func TestTurnSecondsStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	ended, latencies := turnSeries(t, reg)
	if diff := cmp.Diff(map[string]uint64{TurnInline: 0, TurnQueued: 0}, latencies); diff != "" {
		t.Fatalf("before any turn (-want +got):\n%s", diff)
	}
	for _, key := range []string{"inline answered", "inline escalated", "inline with_agent", "inline duplicate", "inline transcribing",
		"inline failed", "queued answered", "queued escalated", "queued queued", "queued resent", "queued taken_over", "queued failed"} {
		if v, ok := ended[key]; !ok || v != 0 {
			t.Errorf("switchboard_turns_total %s: %v, %v; want 0 from the start", key, v, ok)
		}
	}
	m.ObserveTurn(TurnInline, 30*time.Millisecond)
	if _, latencies = turnSeries(t, reg); !cmp.Equal(map[string]uint64{TurnInline: 1, TurnQueued: 0}, latencies) {
		t.Fatalf("after one inline turn: %v", latencies)
	}
}

// TestEndTurnCountsOutcomes: EndTurn counts every outcome on its path, and records a
// latency only for a turn the pipeline answered whose receive time is known, measured
// from that time.
func TestEndTurnCountsOutcomes(t *testing.T) {
	received := time.Now().Add(-3 * time.Second)
	for _, tc := range []struct {
		path, outcome string
		receivedAt    time.Time
		wantLatency   bool
	}{
		{TurnInline, OutcomeAnswered, received, true},
		{TurnInline, OutcomeEscalated, received, true},
		{TurnQueued, OutcomeWithAgent, received, true},
		{TurnQueued, OutcomeAnswered, time.Time{}, false},
		{TurnInline, OutcomeDuplicate, received, false},
		{TurnInline, OutcomeTranscribing, received, false},
		{TurnQueued, OutcomeQueued, received, false},
		{TurnQueued, OutcomeResent, received, false},
		{TurnQueued, OutcomeTakenOver, received, false},
		{TurnQueued, OutcomeFailed, received, false},
		{TurnInline, OutcomeAborted, received, false},
	} {
		t.Run(tc.path+" "+tc.outcome, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m := NewMetrics(reg)
			m.EndTurn(tc.path, tc.outcome, tc.receivedAt)
			ended, latencies := turnSeries(t, reg)
			for key, v := range ended {
				want := 0.0
				if key == tc.path+" "+tc.outcome {
					want = 1
				}
				if v != want {
					t.Errorf("switchboard_turns_total %s = %v, want %v", key, v, want)
				}
			}
			var want uint64
			if tc.wantLatency {
				want = 1
			}
			if latencies[tc.path] != want {
				t.Errorf("%d latencies on %s, want %d", latencies[tc.path], tc.path, want)
			}
			if tc.wantLatency {
				mfs, _ := reg.Gather()
				for _, mf := range mfs {
					for _, s := range mf.GetMetric() {
						if mf.GetName() == "switchboard_turn_seconds" && s.GetLabel()[0].GetValue() == tc.path {
							if sum := s.GetHistogram().GetSampleSum(); sum < 3 || sum > 10 {
								t.Errorf("latency %v s, want about 3 s (from the receive time)", sum)
							}
						}
					}
				}
			}
		})
	}
	var nilMetrics *Metrics
	nilMetrics.EndTurn(TurnInline, OutcomeAnswered, received) // no metrics: nothing to do, no panic
}
