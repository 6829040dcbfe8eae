package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/internal/tracing/tracingtest"
)

// TestPipelineSpans: a run under a turn's span opens one child span per step, named after
// it, in order, with its outcome; a failed stage's error is recorded on its span by its
// class, never its text, and the log line of a degraded stage carries the stage span's
// trace and span ids.
func TestPipelineSpans(t *testing.T) {
	exp := tracingtest.Record(t)
	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil)))
	boom := errors.New(`the model refused "where is my refund?"`)
	var ran []string
	p := New(NewMetrics(prometheus.NewRegistry()), log,
		Step{Name: "asr", Stage: record("asr", &ran, nil), Skip: func(*Turn) bool { return true }},
		Step{Name: "redact", Stage: record("redact", &ran, nil), FailClosed: true},
		Step{Name: "understand", Stage: record("understand", &ran, boom)},
		Step{Name: "escalate", Stage: record("escalate", &ran, boom), FailClosed: true},
		Step{Name: "after", Stage: record("after", &ran, nil)})
	ctx, root := tracing.StartTurn(context.Background(), "rest")
	err := p.Run(ctx, &Turn{Parts: []Part{{Kind: PartText, Text: "call me on 13812345678"}}})
	root.End()
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("run: %v, want aborted", err)
	}
	spans := exp.GetSpans()
	type got struct{ Name, Outcome, Status, Class string }
	var stages []got
	for _, s := range spans {
		if s.Name == tracing.TurnSpan {
			continue
		}
		if s.Parent.SpanID() != root.SpanContext().SpanID() || s.SpanContext.TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %s is not a child of the turn's span", s.Name)
		}
		stages = append(stages, got{s.Name, tracingtest.Attr(s, tracing.StageOutcome), s.Status.Code.String(), s.Status.Description})
	}
	want := []got{{"asr", "skipped", "Unset", ""}, {"redact", "ok", "Unset", ""}, {"understand", "degraded", "Error", "*errors.errorString"},
		{"escalate", "aborted", "Error", "*pipeline.AbortError: pipeline aborted: *errors.errorString"}}
	if diff := cmp.Diff(want, stages); diff != "" {
		t.Errorf("stage spans (-want +got):\n%s", diff)
	}
	for _, s := range spans {
		if s.Status.Code == codes.Error && len(s.Events) == 0 {
			t.Errorf("span %s failed without its error recorded", s.Name)
		}
		for _, e := range s.Events {
			for _, kv := range e.Attributes {
				if strings.Contains(kv.Value.Emit(), "refund") {
					t.Errorf("span %s's %s event holds the error's text: %s=%q", s.Name, e.Name, kv.Key, kv.Value.Emit())
				}
			}
		}
	}
	type line struct {
		Msg     string
		Stage   string
		TraceID string `json:"trace_id"`
		SpanID  string `json:"span_id"`
	}
	var lines []line
	for dec := json.NewDecoder(&buf); dec.More(); {
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
	}
	spanOf := map[string]string{}
	for _, s := range spans {
		spanOf[s.Name] = s.SpanContext.SpanID().String()
	}
	traceID := root.SpanContext().TraceID().String()
	wantLines := []line{{"pipeline stage failed open", "understand", traceID, spanOf["understand"]},
		{"pipeline stage failed closed", "escalate", traceID, spanOf["escalate"]}}
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
	if strings.Contains(buf.String(), "13812345678") {
		t.Fatal("a log line holds the message text")
	}
}

// BenchmarkPipelineTracing is the cost of tracing a turn of ten empty stages (the
// runner alone, its worst case): with a no-op provider (tracing off) and with a recording
// provider whose exporter discards the spans (on), alternating turn by turn so both see
// the same machine. It reports each as ns/turn and their ratio on/off.
func BenchmarkPipelineTracing(b *testing.B) {
	steps := make([]Step, 10)
	for i := range steps {
		steps[i] = Step{Name: "stage" + string(rune('a'+i)), Stage: StageFunc(func(context.Context, *Turn) error { return nil })}
	}
	p := New(NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler), steps...)
	on := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	off := noop.NewTracerProvider()
	prev := otel.GetTracerProvider()
	defer func() { otel.SetTracerProvider(prev); _ = on.Shutdown(context.Background()) }()
	turn := func(tp trace.TracerProvider) time.Duration {
		otel.SetTracerProvider(tp)
		start := time.Now()
		ctx, span := tracing.StartTurn(context.Background(), "rest")
		if err := p.Run(ctx, &Turn{}); err != nil {
			b.Fatal(err)
		}
		span.End()
		return time.Since(start)
	}
	var tOff, tOn time.Duration
	n := 0
	for b.Loop() {
		tOff += turn(off)
		tOn += turn(on)
		n++
	}
	b.ReportMetric(float64(tOff.Nanoseconds())/float64(n), "off-ns/turn")
	b.ReportMetric(float64(tOn.Nanoseconds())/float64(n), "on-ns/turn")
	b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
}

type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }
