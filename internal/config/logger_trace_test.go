package config

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

// TestLoggerCarriesTraceID: both log formats put the trace and span ids of the context's
// span on a record logged with that context, and nothing on one logged without.
func TestLoggerCarriesTraceID(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), sc)
	for _, tc := range []struct{ format, want string }{
		{"json", `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"`},
		{"text", `trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			c := Default()
			c.Log = LogConfig{Level: "info", Format: tc.format}
			var buf bytes.Buffer
			log := c.Logger(&buf).With("component", "test")
			log.InfoContext(ctx, "in a turn")
			if !strings.Contains(buf.String(), tc.want) {
				t.Errorf("log line %q lacks %s", buf.String(), tc.want)
			}
			buf.Reset()
			log.InfoContext(context.Background(), "outside")
			if strings.Contains(buf.String(), "trace_id") {
				t.Errorf("log line without a span %q has a trace_id", buf.String())
			}
		})
	}
}
