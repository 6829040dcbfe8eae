package tracing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// otelVars are the variables Start reads itself; each test starts from none of them set.
var otelVars = []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
	"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}

func setEnv(t *testing.T, env map[string]string) {
	for _, k := range otelVars {
		t.Setenv(k, env[k])
	}
}

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    Settings
		wantErr error
	}{
		{"nothing set: off", nil, Settings{}, nil},
		{"an endpoint turns it on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			Settings{Enabled: true, Protocol: "http/protobuf"}, nil},
		{"a traces endpoint turns it on", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"},
			Settings{Enabled: true, Protocol: "http/protobuf"}, nil},
		{"otlp exporter, default endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, Settings{Enabled: true, Protocol: "http/protobuf"}, nil},
		{"grpc", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, Settings{Enabled: true, Protocol: "grpc"}, nil},
		{"the traces protocol wins", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, Settings{Enabled: true, Protocol: "http/protobuf"}, nil},
		{"none wins over an endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, Settings{}, nil},
		{"sdk disabled wins", map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}, Settings{}, nil},
		{"sdk disabled false", map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"},
			Settings{Enabled: true, Protocol: "http/protobuf"}, nil},
		{"unknown exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, Settings{}, ErrUnsupported},
		{"http/json", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, Settings{}, ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromEnv(func(k string) string { return tc.env[k] })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}

// countingCollector answers OTLP/HTTP and counts the export requests.
func countingCollector(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestStartOff: unless the variables ask for it, Start leaves the global no-op tracer in
// place and starts no exporter: nothing reaches a collector that is listening.
func TestStartOff(t *testing.T) {
	srv, exports := countingCollector(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"nothing set", nil},
		{"exporter none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL}},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.env)
			s, shutdown, err := Start(context.Background(), slog.New(slog.DiscardHandler))
			if err != nil || s.Enabled {
				t.Fatalf("Start: %+v, %v; want off", s, err)
			}
			if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
				t.Fatal("an SDK tracer provider is installed")
			}
			_, span := StartTurn(context.Background(), "rest")
			if span.IsRecording() || span.SpanContext().IsValid() {
				t.Error("a turn span records with tracing off")
			}
			span.End()
			if err := shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := exports.Load(); n != 0 {
				t.Fatalf("%d exports reached the collector with tracing off", n)
			}
		})
	}
}

type grpcCollector struct {
	coltracepb.UnimplementedTraceServiceServer
	spans atomic.Int64
	names chan string
}

func (c *grpcCollector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.spans.Add(1)
				c.names <- s.Name
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// TestStartExportsOverGRPC: OTEL_EXPORTER_OTLP_PROTOCOL=grpc exports through the gRPC
// exporter to a collector's TraceService.
func TestStartExportsOverGRPC(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &grpcCollector{names: make(chan string, 16)}
	gs := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(gs, col)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	setEnv(t, map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + lis.Addr().String()})
	s, shutdown, err := Start(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil || s != (Settings{Enabled: true, Protocol: "grpc"}) {
		t.Fatalf("Start: %+v, %v", s, err)
	}
	_, span := StartTurn(context.Background(), "telegram")
	span.End()
	if err := shutdown(context.Background()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if n := col.spans.Load(); n != 1 {
		t.Fatalf("collector got %d spans, want 1", n)
	}
	if name := <-col.names; name != TurnSpan {
		t.Fatalf("span %q, want %q", name, TurnSpan)
	}
}

// recordSpans installs a provider that records every span for the rest of the test
// (tracingtest's Record, which this package's tests cannot import without a cycle).
func recordSpans(t *testing.T) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev); _ = tp.Shutdown(context.Background()) })
	return tp
}

// TestOwnTraces: under OwnTraces (a web chat socket), each turn starts a trace of its own,
// linked to the socket's span; without it a turn joins the trace in its context.
func TestOwnTraces(t *testing.T) {
	recordSpans(t)
	ctx, socket := Tracer().Start(context.Background(), "GET /v1/chat")
	defer socket.End()
	_, joined := StartTurn(ctx, "web")
	_, own := StartTurn(OwnTraces(ctx), "web")
	if joined.SpanContext().TraceID() != socket.SpanContext().TraceID() {
		t.Error("a turn without OwnTraces left its request's trace")
	}
	if own.SpanContext().TraceID() == socket.SpanContext().TraceID() {
		t.Fatal("a turn under OwnTraces joined the socket's trace")
	}
	ro, ok := own.(sdktrace.ReadOnlySpan)
	if !ok || len(ro.Links()) != 1 || ro.Links()[0].SpanContext.SpanID() != socket.SpanContext().SpanID() {
		t.Fatal("the turn's own trace is not linked to the socket's span")
	}
}

// TestTraceparentInAndOut: a server span begins a trace of its own, linked to (not
// continuing) the caller's traceparent; an outgoing call through Transport carries that
// trace on to the platform it calls in a traceparent header only: no baggage, even when
// the process's propagator would send it and the context holds some.
func TestTraceparentInAndOut(t *testing.T) {
	recordSpans(t)
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	var seen atomic.Value
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Clone())
	}))
	defer platform.Close()
	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	in := httptest.NewRequest("POST", "/v1/channels/telegram", nil)
	in.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	in.Header.Set("baggage", "user.id=42")
	r, server := StartServer(in, "/v1/channels/:name")
	if got := server.SpanContext().TraceID().String(); got == callerTrace {
		t.Fatal("the server span continued the caller's trace")
	}
	ro, ok := server.(sdktrace.ReadOnlySpan)
	if !ok || len(ro.Links()) != 1 || ro.Links()[0].SpanContext.TraceID().String() != callerTrace ||
		ro.Links()[0].SpanContext.SpanID().String() != callerSpan {
		t.Fatal("the server span is not linked to the caller's span")
	}
	if ro.Parent().IsValid() {
		t.Fatalf("the server span has parent %v, want none", ro.Parent())
	}
	mem, _ := baggage.NewMemberRaw("user.id", "42")
	bag, _ := baggage.New(mem)
	out, _ := http.NewRequestWithContext(baggage.ContextWithBaggage(r.Context(), bag), "POST", platform.URL+"/bot-token/sendMessage", nil)
	resp, err := (&http.Client{Transport: Transport(nil)}).Do(out)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	EndServer(server, 200)
	h, _ := seen.Load().(http.Header)
	tp := h.Get("traceparent")
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), headerOf("traceparent", tp)))
	if sc.TraceID() != server.SpanContext().TraceID() || sc.SpanID() == server.SpanContext().SpanID() {
		t.Fatalf("the platform saw traceparent %q: want the server span's trace, from a client span of its own", tp)
	}
	for _, k := range []string{"baggage", "tracestate"} {
		if v := h.Get(k); v != "" {
			t.Errorf("the platform got %s: %q", k, v)
		}
	}
}

// TestStartPropagatesNoBaggage: with tracing on, the process's propagator reads and
// writes the W3C trace context only.
func TestStartPropagatesNoBaggage(t *testing.T) {
	srv, _ := countingCollector(t)
	setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL})
	prev := otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })
	s, shutdown, err := Start(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil || !s.Enabled {
		t.Fatalf("Start: %+v, %v", s, err)
	}
	defer func() { _ = shutdown(context.Background()) }()
	got := otel.GetTextMapPropagator().Fields()
	slices.Sort(got)
	if diff := cmp.Diff([]string{"traceparent", "tracestate"}, got); diff != "" {
		t.Errorf("propagated fields (-want +got):\n%s", diff)
	}
}

type sqlError struct{ code, detail string }

func (e *sqlError) Error() string    { return "duplicate key: " + e.detail }
func (e *sqlError) SQLState() string { return e.code }

type leakyWrapper struct{ err error }

func (e leakyWrapper) Error() string { return "refused \"call me on 13812345678\": " + e.err.Error() }
func (e leakyWrapper) Unwrap() error { return e.err }

var errSentinel = errors.New("store: sentinel")

// TestErrorClass: an error is named by its known sentinels' text and its other errors'
// types, never by the text they carry.
func TestErrorClass(t *testing.T) {
	KnownErrors(errSentinel)
	row := &sqlError{"23505", "Key (phone)=(13812345678) already exists"}
	timeout := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"context", context.Canceled, "context canceled"},
		{"wrapped deadline", fmt.Errorf("asking the LLM about %q: %w", "13812345678", context.DeadlineExceeded), "context deadline exceeded"},
		{"a sentinel with text", fmt.Errorf("%w: ticket of 13812345678", errSentinel), "store: sentinel"},
		{"unknown text", errors.New("the model refused: call me on 13812345678"), "*errors.errorString"},
		{"a database error", fmt.Errorf("insert: %w", row), "*tracing.sqlError (SQLSTATE 23505)"},
		{"a typed wrapper", leakyWrapper{row}, "tracing.leakyWrapper: *tracing.sqlError (SQLSTATE 23505)"},
		{"joined", errors.Join(errSentinel, io.EOF), "store: sentinel: EOF"},
		{"timeout", timeout, "*net.OpError (timeout): i/o timeout"},
		{"a status", &statusError{503}, "HTTP status 503"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorClass(tc.err); got != tc.want {
				t.Errorf("ErrorClass(%v) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}

// TestFailRecordsTheClassOnly: a failed span's status and exception event hold the
// error's class, not its text.
func TestFailRecordsTheClassOnly(t *testing.T) {
	recordSpans(t)
	_, span := Tracer().Start(context.Background(), "respond")
	Fail(span, fmt.Errorf("%w: %w", errors.New("the model refused: call me on 13812345678"), context.DeadlineExceeded))
	span.End()
	ro := span.(sdktrace.ReadOnlySpan)
	if ro.Status().Code != codes.Error || ro.Status().Description != "*errors.errorString: context deadline exceeded" {
		t.Errorf("status %+v, want Error with the class", ro.Status())
	}
	if len(ro.Events()) != 1 {
		t.Fatalf("%d events, want the exception", len(ro.Events()))
	}
	for _, kv := range ro.Events()[0].Attributes {
		if strings.Contains(kv.Value.Emit(), "13812345678") {
			t.Errorf("event attribute %s holds the error's text: %q", kv.Key, kv.Value.Emit())
		}
	}
}

func headerOf(k, v string) propagation.HeaderCarrier {
	h := propagation.HeaderCarrier(http.Header{})
	h.Set(k, v)
	return h
}
