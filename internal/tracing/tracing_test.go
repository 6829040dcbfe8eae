package tracing

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel"
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

// TestTraceparentInAndOut: a server span continues the caller's traceparent, and an
// outgoing call through Transport carries the trace on to the platform it calls.
func TestTraceparentInAndOut(t *testing.T) {
	recordSpans(t)
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	var seen atomic.Value
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("traceparent"))
	}))
	defer platform.Close()
	in := httptest.NewRequest("POST", "/v1/channels/telegram", nil)
	in.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	r, server := StartServer(in, "/v1/channels/:name")
	if got := server.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("server span in trace %s, want the caller's", got)
	}
	out, _ := http.NewRequestWithContext(r.Context(), "POST", platform.URL+"/bot-token/sendMessage", nil)
	resp, err := (&http.Client{Transport: Transport(nil)}).Do(out)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	EndServer(server, 200)
	tp, _ := seen.Load().(string)
	sc := trace.SpanContextFromContext(otel.GetTextMapPropagator().Extract(context.Background(), headerOf("traceparent", tp)))
	if sc.TraceID() != server.SpanContext().TraceID() || sc.SpanID() == server.SpanContext().SpanID() {
		t.Fatalf("the platform saw traceparent %q: want the caller's trace, from a client span of its own", tp)
	}
}

func headerOf(k, v string) propagation.HeaderCarrier {
	h := propagation.HeaderCarrier(http.Header{})
	h.Set(k, v)
	return h
}
