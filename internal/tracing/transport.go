package tracing

import (
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps next (nil: http.DefaultTransport) so that each outgoing request is a
// client span of the caller's trace and carries it on, to a channel's platform or an LLM
// endpoint, in a W3C traceparent header and nothing else: no baggage, no tracestate (a
// trace Switchboard began, see [StartServer]). The span names the method and host, never
// the path or query (which may hold a token).
func Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return transport{next}
}

type transport struct{ next http.RoundTripper }

func (t transport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx, span := Tracer().Start(r.Context(), "HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	if span.SpanContext().IsValid() {
		span.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("server.address", r.URL.Host))
		r = r.Clone(ctx)
		traceContext.Inject(ctx, traceparentOnly{propagation.HeaderCarrier(r.Header)})
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		Fail(span, err)
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 500 {
		Fail(span, &statusError{resp.StatusCode})
	}
	return resp, nil
}

// traceContext reads and writes W3C trace context headers (traceparent, tracestate),
// whatever the process's global propagator is.
var traceContext = propagation.TraceContext{}

// traceparentOnly lets an injector set traceparent only.
type traceparentOnly struct{ propagation.HeaderCarrier }

func (c traceparentOnly) Set(key, value string) {
	if strings.EqualFold(key, "traceparent") {
		c.HeaderCarrier.Set(key, value)
	}
}

type statusError struct{ code int }

func (e *statusError) Error() string      { return "HTTP status " + strconv.Itoa(e.code) }
func (e *statusError) errorClass() string { return e.Error() }
