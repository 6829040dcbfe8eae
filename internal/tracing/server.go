package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// StartServer opens the server span of an incoming request on route (the pattern, not the
// path: no ids or tokens in span names). The span begins a trace of its own: a caller's
// traceparent comes from the public side (a browser, a platform, anyone), so it is not
// continued, which would let the caller pick the trace id and force sampling, but linked
// from the span. The caller serves the request with the returned request, ends the span
// and passes the status to [EndServer].
func StartServer(r *http.Request, route string) (*http.Request, trace.Span) {
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithNewRoot()}
	if sc := trace.SpanContextFromContext(traceContext.Extract(context.Background(), propagation.HeaderCarrier(r.Header))); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	ctx, span := Tracer().Start(r.Context(), r.Method+" "+route, opts...)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("http.route", route))
	}
	return r.WithContext(ctx), span
}

// EndServer records the response status on span and ends it; a 5xx marks it failed.
func EndServer(span trace.Span, status int) {
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		Fail(span, &statusError{status})
	}
	span.End()
}
