package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/internal/tracing"
)

// Stage processes a turn, writing only its own fields.
type Stage interface {
	Process(ctx context.Context, t *Turn) error
}

// StageFunc adapts a function to a Stage.
type StageFunc func(ctx context.Context, t *Turn) error

// Process calls f.
func (f StageFunc) Process(ctx context.Context, t *Turn) error { return f(ctx, t) }

// Step places a stage in the pipeline.
type Step struct {
	Name    string
	Stage   Stage
	Timeout time.Duration // 0: no timeout of its own
	// FailClosed aborts the turn when the stage fails (redaction, persistence).
	// Other stages fail open: the turn continues, marked degraded.
	FailClosed bool
	// Skip reports whether the stage has nothing to do for t (e.g. no audio).
	Skip func(t *Turn) bool
}

// ErrAborted matches the error of a run that a fail-closed stage stopped (an *AbortError).
var ErrAborted = errors.New("pipeline aborted")

// Spans name ErrAborted by its text (tracing.Fail names an unknown error by its type only).
func init() { tracing.KnownErrors(ErrAborted) }

// AbortError is the error of a run that a fail-closed stage stopped. It reads as the
// stage's own error, which is what a client may be told ("conversation "x": not found",
// not pipeline jargon), and matches both ErrAborted and that error.
type AbortError struct {
	Stage string
	Err   error
}

func (e *AbortError) Error() string { return e.Err.Error() }

// Unwrap gives ErrAborted and the stage's error.
func (e *AbortError) Unwrap() []error { return []error{ErrAborted, e.Err} }

// Metrics are the pipeline's series, shared by every pipeline of a process.
type Metrics struct {
	seconds  *prometheus.HistogramVec
	outcomes *prometheus.CounterVec
	turns    *prometheus.HistogramVec
	ended    *prometheus.CounterVec
}

// Turn paths, as switchboard_turn_seconds and switchboard_turns_total label them. Both
// measure a turn from its receipt (the server's receive time, which the queue stores with
// the turn) to its answer, and only turns the process pipeline answered (answered,
// escalated, with_agent): not duplicates, hand-overs to the queue, or resends.
const (
	TurnInline = "inline" // answered while the client waits (REST, web chat): receipt to answer recorded
	TurnQueued = "queued" // answered by a queue worker (push channels, voice notes, turns whose receiver died): receipt to answer delivered
)

// Turn outcomes, as switchboard_turns_total counts them and a turn's span records them
// (switchboard.turn.outcome). A turn ends once in answered, escalated, with_agent,
// duplicate, aborted or cancelled; queued and transcribing hand it to a queue worker (which
// then counts it on the queued path); failed, taken_over and resent are attempts.
const (
	OutcomeAnswered     = "answered"     // the bot answered
	OutcomeEscalated    = "escalated"    // handed to a human (a ticket opened or joined)
	OutcomeWithAgent    = "with_agent"   // the conversation is in an agent's hands: the bot stayed out
	OutcomeDuplicate    = "duplicate"    // a redelivery, answered from the stored outcome
	OutcomeTranscribing = "transcribing" // stored; a queue worker transcribes and answers it
	OutcomeQueued       = "queued"       // stored; a queue worker answers it
	OutcomeTakenOver    = "taken_over"   // another attempt answers it
	OutcomeResent       = "resent"       // answered before; only the delivery is tried again
	OutcomeAborted      = "aborted"      // a fail-closed stage stopped it
	OutcomeCancelled    = "cancelled"    // its context ended (client gone, shutdown, timeout)
	OutcomeFailed       = "failed"       // any other error; a queued turn is retried
)

// turnOutcomes are the outcomes each path can end in, exported at 0 from the start.
var turnOutcomes = map[string][]string{
	TurnInline: {OutcomeAnswered, OutcomeEscalated, OutcomeWithAgent, OutcomeDuplicate, OutcomeTranscribing,
		OutcomeTakenOver, OutcomeAborted, OutcomeCancelled, OutcomeFailed},
	TurnQueued: {OutcomeAnswered, OutcomeEscalated, OutcomeWithAgent, OutcomeDuplicate, OutcomeQueued,
		OutcomeTakenOver, OutcomeResent, OutcomeAborted, OutcomeCancelled, OutcomeFailed},
}

// Answered reports whether outcome is a turn the process pipeline answered.
func Answered(outcome string) bool {
	return outcome == OutcomeAnswered || outcome == OutcomeEscalated || outcome == OutcomeWithAgent
}

// NewMetrics registers the pipeline metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_pipeline_stage_seconds",
			Help:    "Latency of each pipeline stage.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"stage"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_pipeline_stage_total",
			Help: "Stage runs by outcome: ok, skipped, degraded, aborted.",
		}, []string{"stage", "outcome"}),
		turns: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_turn_seconds",
			Help: "Latency of answered turns, from receipt to answer, by path: inline (answered while the client waits), " +
				"queued (answered and delivered by a queue worker; the wait in the queue included).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"path"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_turns_total",
			Help: "Turns (on the queued path: attempts) by path and outcome: answered, escalated, with_agent, duplicate, " +
				"queued and transcribing (handed to a queue worker), taken_over, resent, aborted, cancelled, failed.",
		}, []string{"path", "outcome"}),
	}
	reg.MustRegister(m.seconds, m.outcomes, m.turns, m.ended)
	for path, outcomes := range turnOutcomes {
		m.turns.WithLabelValues(path)
		for _, o := range outcomes {
			m.ended.WithLabelValues(path, o)
		}
	}
	return m
}

// ObserveTurn records how long a whole turn took on path (TurnInline, TurnQueued).
func (m *Metrics) ObserveTurn(path string, d time.Duration) {
	if m != nil {
		m.turns.WithLabelValues(path).Observe(d.Seconds())
	}
}

// EndTurn counts a turn's outcome on path and, when the pipeline answered it and its
// receive time is known, records its latency from receivedAt.
func (m *Metrics) EndTurn(path, outcome string, receivedAt time.Time) {
	if m == nil {
		return
	}
	m.ended.WithLabelValues(path, outcome).Inc()
	if Answered(outcome) && !receivedAt.IsZero() {
		m.ObserveTurn(path, time.Since(receivedAt))
	}
}

// Pipeline runs steps in order.
type Pipeline struct {
	steps   []Step
	log     *slog.Logger
	levelOf func(error) slog.Level
	*Metrics
}

// New builds a pipeline that reports to m.
func New(m *Metrics, log *slog.Logger, steps ...Step) *Pipeline {
	return &Pipeline{steps: steps, log: log, Metrics: m}
}

// SetLevels sets the level at which a fail-closed stage's error is logged: a cause the
// client gave (an unknown conversation) is no server error. Without it, every such error
// is logged at ERROR. It returns p.
func (p *Pipeline) SetLevels(levelOf func(error) slog.Level) *Pipeline {
	p.levelOf = levelOf
	return p
}

// Run processes t through every step, each in a span named after it (a child of the
// turn's span in ctx) whose switchboard.stage.outcome is ok, skipped, degraded or aborted,
// and which names a failed stage's error by its class (tracing.Fail), never its text.
// It returns an error only when ctx is cancelled or a fail-closed stage fails; other
// failures mark t degraded.
func (p *Pipeline) Run(ctx context.Context, t *Turn) error {
	if t.Timings == nil {
		t.Timings = map[string]time.Duration{}
	}
	tr := tracing.Tracer()
	for _, s := range p.steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		sctx, span := tr.Start(ctx, s.Name)
		outcome, err := p.step(sctx, s, t)
		if span.IsRecording() {
			span.SetAttributes(tracing.StageOutcome.String(outcome))
			tracing.Fail(span, err)
		}
		span.End()
		if outcome == outcomeAborted {
			return err
		}
	}
	return nil
}

const outcomeAborted = "aborted"

// step runs one step and says how it went: ok, skipped, degraded (err is the stage's) or
// aborted (err is what Run returns).
func (p *Pipeline) step(ctx context.Context, s Step, t *Turn) (outcome string, err error) {
	if s.Skip != nil && s.Skip(t) {
		p.outcomes.WithLabelValues(s.Name, "skipped").Inc()
		return "skipped", nil
	}
	err = p.runStep(ctx, s, t)
	switch {
	case err == nil:
		p.outcomes.WithLabelValues(s.Name, "ok").Inc()
		return "ok", nil
	case ctx.Err() != nil: // the turn's context, not the step's timeout
		return outcomeAborted, ctx.Err()
	case s.FailClosed:
		p.outcomes.WithLabelValues(s.Name, outcomeAborted).Inc()
		level := slog.LevelError
		if p.levelOf != nil {
			level = p.levelOf(err)
		}
		p.log.Log(ctx, level, "pipeline stage failed closed", "stage", s.Name, "err", err, "turn", t)
		return outcomeAborted, &AbortError{Stage: s.Name, Err: err}
	default:
		p.outcomes.WithLabelValues(s.Name, "degraded").Inc()
		p.log.WarnContext(ctx, "pipeline stage failed open", "stage", s.Name, "err", err, "turn", t)
		t.Degraded = append(t.Degraded, s.Name)
		return "degraded", err
	}
}

func (p *Pipeline) runStep(ctx context.Context, s Step, t *Turn) (err error) {
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	start := time.Now()
	defer func() {
		d := time.Since(start)
		t.Timings[s.Name] = d
		p.seconds.WithLabelValues(s.Name).Observe(d.Seconds())
		if r := recover(); r != nil {
			err = fmt.Errorf("stage %s panicked: %v", s.Name, r)
		}
	}()
	return s.Stage.Process(ctx, t)
}
