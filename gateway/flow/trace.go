package flow

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/trace"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/tickets"
)

// The outcomes a turn's span records (switchboard.turn.outcome) and switchboard_turns_total
// counts; pipeline documents each.
const (
	turnAnswered     = pipeline.OutcomeAnswered
	turnEscalated    = pipeline.OutcomeEscalated
	turnWithAgent    = pipeline.OutcomeWithAgent
	turnDuplicate    = pipeline.OutcomeDuplicate
	turnTranscribing = pipeline.OutcomeTranscribing
	turnQueued       = pipeline.OutcomeQueued
	turnTakenOver    = pipeline.OutcomeTakenOver
	turnResent       = pipeline.OutcomeResent
	turnAborted      = pipeline.OutcomeAborted
	turnCancelled    = pipeline.OutcomeCancelled
	turnFailed       = pipeline.OutcomeFailed
)

// The errors a turn's or a stage's span may name by their text (tracing.ErrorClass): the
// sentinels of the flow and of the stores and engines its stages call. Any other error is
// named by its Go type only.
func init() {
	tracing.KnownErrors(ErrNoPipeline, ErrMediaBusy, ErrMediaTooLarge, errTakenOver, errNoSender, errSendWithheld,
		tickets.ErrNotFound, tickets.ErrInvalid, tickets.ErrConflict, tickets.ErrForbidden, tickets.ErrNoCapacity,
		tickets.ErrNoState, tickets.ErrUnavailable,
		asr.ErrUnavailable, asr.ErrBusy, asr.ErrBadAudio, asr.ErrBadOptions, asr.ErrClosed,
		audio.ErrAudio, audio.ErrTooLong, audio.ErrUnavailable)
}

// metricsOf are p's metrics (nil without a pipeline).
func metricsOf(p *pipeline.Pipeline) *pipeline.Metrics {
	if p == nil {
		return nil
	}
	return p.Metrics
}

// endTurn records how a turn went on path: on its span, which it ends (ids, outcome words
// and the error's class: tracing.Fail names its sentinels and types, never its text), and
// in m's turn metrics (its outcome; its latency from t.ReceivedAt when the pipeline
// answered it).
func endTurn(span trace.Span, m *pipeline.Metrics, path string, t *pipeline.Turn, outcome string, err error) {
	m.EndTurn(path, outcome, t.ReceivedAt)
	if span.IsRecording() {
		span.SetAttributes(tracing.TurnOutcome.String(outcome), tracing.ConversationID.String(t.ConversationID))
		if t.TicketID != "" {
			span.SetAttributes(tracing.TicketID.String(t.TicketID))
		}
		if len(t.Degraded) > 0 {
			span.SetAttributes(tracing.Degraded.StringSlice(t.Degraded))
		}
		if t.Attempt > 0 {
			span.SetAttributes(tracing.Attempt.Int(t.Attempt))
		}
		tracing.Fail(span, err)
	}
	span.End()
}

// failedOutcome is the outcome of a turn that err stopped.
func failedOutcome(err error) string {
	switch {
	case errors.Is(err, pipeline.ErrAborted):
		return turnAborted
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return turnCancelled
	}
	return turnFailed
}

// answeredOutcome is the outcome of a turn the process pipeline ran through.
func answeredOutcome(t *pipeline.Turn) string {
	switch {
	case t.Escalated:
		return turnEscalated
	case t.WithAgent:
		return turnWithAgent
	}
	return turnAnswered
}

func answerOutcome(t *pipeline.Turn, res Result, err error) string {
	switch {
	case err != nil:
		return failedOutcome(err)
	case res.Duplicate:
		return turnDuplicate
	case res.TakenOver:
		return turnTakenOver
	case res.Transcribing:
		return turnTranscribing
	}
	return answeredOutcome(t)
}

func receiveOutcome(t *pipeline.Turn, err error) string {
	switch {
	case err != nil:
		return failedOutcome(err)
	case t.Duplicate:
		return turnDuplicate
	}
	return turnQueued
}
