package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// The attributes Switchboard puts on its spans. Values are ids and outcome words only.
const (
	Channel        = attribute.Key("switchboard.channel")
	ConversationID = attribute.Key("switchboard.conversation_id")
	TicketID       = attribute.Key("switchboard.ticket_id")
	TurnOutcome    = attribute.Key("switchboard.turn.outcome")
	Degraded       = attribute.Key("switchboard.turn.degraded") // the stages that failed open
	Attempt        = attribute.Key("switchboard.turn.attempt")  // the queue attempt answering a stored turn
	StageOutcome   = attribute.Key("switchboard.stage.outcome")
)

// TurnSpan is the name of a turn's root span.
const TurnSpan = "turn"

type ownTraces struct{}

// OwnTraces marks ctx so that each turn started under it (a web chat socket's messages)
// begins a trace of its own, linked to the span ctx carries (the socket's request),
// instead of joining one trace as long as the socket.
func OwnTraces(ctx context.Context) context.Context {
	return context.WithValue(ctx, ownTraces{}, trace.SpanContextFromContext(ctx))
}

// StartTurn opens the root span of one customer turn on channel: a child of the request
// that carried the message (and so of a caller's traceparent), or a new trace under
// [OwnTraces].
func StartTurn(ctx context.Context, channel string) (context.Context, trace.Span) {
	tr := Tracer()
	if sc, ok := ctx.Value(ownTraces{}).(trace.SpanContext); ok {
		opts := []trace.SpanStartOption{trace.WithNewRoot(), trace.WithAttributes(Channel.String(channel))}
		if sc.IsValid() {
			opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
		}
		return tr.Start(ctx, TurnSpan, opts...)
	}
	return tr.Start(ctx, TurnSpan, trace.WithAttributes(Channel.String(channel)))
}

// Fail records err on span and marks it failed; a nil err changes nothing.
func Fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}
