package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/internal/tracing/tracingtest"
	"github.com/switchboard-cs/switchboard/tickets"
)

// TestTurnSpanOutcomes: Receive and Answer each open one turn span, the parent of the
// stage spans, and record on it how the turn went, its channel, conversation and ticket,
// and a failed turn's error by its class (known sentinels by name), never its text;
// switchboard_turns_total counts the same outcome, once, on the turn's path (Receive:
// queued, Answer: inline).
func TestTurnSpanOutcomes(t *testing.T) {
	exp := tracingtest.Record(t)
	step := func(name string, f func(*pipeline.Turn) error, failClosed bool) pipeline.Step {
		return pipeline.Step{Name: name, FailClosed: failClosed,
			Stage: pipeline.StageFunc(func(_ context.Context, t *pipeline.Turn) error { return f(t) })}
	}
	persist := func(t *pipeline.Turn) error { t.ConversationID = "c-9"; return nil }
	flowOf := func(m *pipeline.Metrics, ingress, process func(*pipeline.Turn) error) *Flow {
		log := slog.New(slog.DiscardHandler)
		return &Flow{Ingress: pipeline.New(m, log, step("persist", ingress, true)),
			Process: pipeline.New(m, log, step("escalate", process, true)), Replies: &recorder{}}
	}
	ok := func(*pipeline.Turn) error { return nil }
	type view struct{ Outcome, Channel, Conversation, Ticket, Status, Class string }
	for _, tc := range []struct {
		name             string
		ingress, process func(*pipeline.Turn) error
		answer           bool
		want             view
		wantStages       []string
	}{
		{"received", persist, ok, false, view{"queued", "telegram", "c-9", "", "Unset", ""}, []string{"persist"}},
		{"received again", func(t *pipeline.Turn) error { t.Duplicate = true; return persist(t) }, ok, false,
			view{"duplicate", "telegram", "c-9", "", "Unset", ""}, []string{"persist"}},
		{"refused", func(*pipeline.Turn) error { return errors.New("store down while saving 13812345678") }, ok, false,
			view{"aborted", "telegram", "", "", "Error", "*pipeline.AbortError: pipeline aborted: *errors.errorString"}, []string{"persist"}},
		{"store unavailable", func(*pipeline.Turn) error { return fmt.Errorf("saving 13812345678: %w", tickets.ErrUnavailable) }, ok, false,
			view{"aborted", "telegram", "", "", "Error", "*pipeline.AbortError: pipeline aborted: database unavailable"}, []string{"persist"}},
		{"answered", persist, ok, true, view{"answered", "telegram", "c-9", "", "Unset", ""}, []string{"persist", "escalate"}},
		{"escalated", persist, func(t *pipeline.Turn) error { t.Escalated, t.TicketID = true, "t-1"; return nil }, true,
			view{"escalated", "telegram", "c-9", "t-1", "Unset", ""}, []string{"persist", "escalate"}},
		{"answered before", func(t *pipeline.Turn) error { t.Duplicate = true; return persist(t) }, ok, true,
			view{"duplicate", "telegram", "c-9", "", "Unset", ""}, []string{"persist"}},
		{"voice note left to the queue", func(t *pipeline.Turn) error { t.VoicePending = true; return persist(t) }, ok, true,
			view{"transcribing", "telegram", "c-9", "", "Unset", ""}, []string{"persist"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp.Reset()
			reg := prometheus.NewRegistry()
			f := flowOf(pipeline.NewMetrics(reg), tc.ingress, tc.process)
			turn := &pipeline.Turn{Channel: "telegram"}
			path := pipeline.TurnQueued
			if tc.answer {
				path = pipeline.TurnInline
				_, _ = f.Answer(context.Background(), turn)
			} else {
				_ = f.Receive(context.Background(), turn)
			}
			spans := exp.GetSpans()
			var got []view
			var stages []string
			for _, s := range spans {
				if s.Name != tracing.TurnSpan {
					continue
				}
				got = append(got, view{tracingtest.Attr(s, tracing.TurnOutcome), tracingtest.Attr(s, tracing.Channel),
					tracingtest.Attr(s, tracing.ConversationID), tracingtest.Attr(s, tracing.TicketID), s.Status.Code.String(), s.Status.Description})
				for _, c := range spans {
					if c.Parent.SpanID() == s.SpanContext.SpanID() {
						stages = append(stages, c.Name)
					}
				}
			}
			if diff := cmp.Diff([]view{tc.want}, got); diff != "" {
				t.Errorf("turn span (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantStages, stages); diff != "" {
				t.Errorf("stage spans under the turn (-want +got):\n%s", diff)
			}
			counted := map[string]float64{}
			families, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range families {
				for _, m := range f.GetMetric() {
					if f.GetName() == "switchboard_turns_total" && m.GetCounter().GetValue() > 0 {
						labels := map[string]string{}
						for _, l := range m.GetLabel() {
							labels[l.GetName()] = l.GetValue()
						}
						counted[labels["path"]+" "+labels["outcome"]] = m.GetCounter().GetValue()
					}
				}
			}
			if diff := cmp.Diff(map[string]float64{path + " " + tc.want.Outcome: 1}, counted); diff != "" {
				t.Errorf("switchboard_turns_total (-want +got):\n%s", diff)
			}
		})
	}
}
