package tracing

import (
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// StartServer opens the server span of an incoming request on route (the pattern, not the
// path: no ids or tokens in span names), continuing the caller's trace when the request
// carries a traceparent. The caller serves the request with the returned request, ends the
// span and passes the status to [EndServer].
func StartServer(r *http.Request, route string) (*http.Request, trace.Span) {
	ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := Tracer().Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer))
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
