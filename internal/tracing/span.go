package tracing

import (
	"context"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"sync"

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

// Fail marks span failed and records err as an "exception" event, both by err's class
// ([ErrorClass]), never its text; a nil err changes nothing.
func Fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	class := ErrorClass(err)
	span.AddEvent(exceptionEvent, trace.WithAttributes(exceptionType.String(class)))
	span.SetStatus(codes.Error, class)
}

const (
	exceptionEvent = "exception"
	exceptionType  = attribute.Key("exception.type")
)

// known holds the errors whose text [ErrorClass] may record: sentinels, whose text is
// written in the code.
var known sync.Map

func init() {
	KnownErrors(context.Canceled, context.DeadlineExceeded, io.EOF, io.ErrUnexpectedEOF, os.ErrDeadlineExceeded, net.ErrClosed)
}

// KnownErrors lets [ErrorClass] name these errors (a package's sentinels, whose text is a
// constant of the code) by their text. It is meant for package initialisation.
func KnownErrors(errs ...error) {
	for _, err := range errs {
		if err != nil && reflect.TypeOf(err).Comparable() {
			known.Store(err, struct{}{})
		}
	}
}

// ErrorClass names err without its text, which may quote a message or a stored row (a
// database error's detail, an LLM's refusal): each error of its chain, outermost first,
// joined by ": ", is named by its text when it is known ([KnownErrors]:
// context.Canceled, io.EOF, a package's sentinels), else by its Go type, with the
// SQLSTATE code of a database error and "(timeout)" for a timeout. The wrappers of fmt.Errorf and
// errors.Join are left out. E.g. "*pipeline.AbortError: pipeline aborted:
// *pgconn.PgError (SQLSTATE 23505)".
func ErrorClass(err error) string {
	var parts []string
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if name := nodeClass(err); name != "" && (len(parts) == 0 || parts[len(parts)-1] != name) {
			parts = append(parts, name)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return strings.Join(parts, ": ")
}

// nodeClass names one error of a chain without what it wraps ("" for a bare wrapper).
func nodeClass(err error) string {
	if c, ok := err.(classed); ok {
		return c.errorClass()
	}
	if reflect.TypeOf(err).Comparable() {
		if _, ok := known.Load(err); ok {
			return err.Error()
		}
	}
	name := reflect.TypeOf(err).String()
	switch name {
	case "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		return ""
	}
	if s, ok := err.(interface{ SQLState() string }); ok && s.SQLState() != "" {
		name += " (SQLSTATE " + s.SQLState() + ")"
	}
	if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
		name += " (timeout)"
	}
	return name
}

// classed is an error of this package whose text is safe to record (a status code).
type classed interface{ errorClass() string }
