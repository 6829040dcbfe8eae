// Package tracing is the OpenTelemetry plumbing under every turn: [Start] turns tracing on
// from the standard OTEL_* variables (off by default: a no-op tracer), [StartTurn] opens
// the root span of one customer turn (gateway/flow) under which gateway/pipeline opens one
// span per stage, [LogHandler] puts the trace and span ids into each log record written
// with a context, and [Transport] carries the trace (W3C traceparent) on outgoing calls.
//
// Spans carry ids, names and outcomes only, never message text: attribute values are the
// channel, conversation and ticket ids, stage names and outcome words.
package tracing
