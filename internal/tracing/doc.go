// Package tracing is the OpenTelemetry plumbing under every turn: [Start] turns tracing on
// from the standard OTEL_* variables (off by default: a no-op tracer), [StartServer] opens
// a request's span (a trace of its own, linked to a caller's traceparent), [StartTurn] opens
// the root span of one customer turn (gateway/flow) under which gateway/pipeline opens one
// span per stage, [LogHandler] puts the trace and span ids into each log record written
// with a context, and [Transport] carries the trace (a W3C traceparent, nothing else) on
// outgoing calls.
//
// Spans carry ids, names and outcomes only, never message text: attribute values are the
// channel, conversation and ticket ids, stage names and outcome words, and a failed span
// names its error by class ([Fail], [ErrorClass]), never by its text.
package tracing
