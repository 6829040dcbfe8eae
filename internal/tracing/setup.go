package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName names the instrumentation scope of every span Switchboard starts.
const ScopeName = "github.com/switchboard-cs/switchboard"

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES
// say otherwise.
const DefaultServiceName = "switchboard"

// ErrUnsupported is a setting of an OTEL_* variable this build cannot honour.
var ErrUnsupported = errors.New("unsupported OpenTelemetry setting")

// Tracer is the tracer of the process's current provider: a no-op one unless [Start]
// turned tracing on (or a test installed its own).
func Tracer() trace.Tracer { return otel.GetTracerProvider().Tracer(ScopeName) }

// Settings is what the OTEL_* variables ask of the trace exporter.
type Settings struct {
	Enabled  bool
	Protocol string // http/protobuf or grpc
}

// FromEnv reads the variables that decide whether traces are exported and how:
// OTEL_SDK_DISABLED=true forces tracing off; OTEL_TRACES_EXPORTER=otlp turns it on and
// none turns it off; unset, a configured OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) turns it on. The protocol is
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else
// http/protobuf. The exporter and the SDK read the rest (endpoint, headers, timeout,
// sampler, batching, resource) themselves.
func FromEnv(getenv func(string) string) (Settings, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	if strings.EqualFold(env("OTEL_SDK_DISABLED"), "true") {
		return Settings{}, nil
	}
	var s Settings
	switch exp := strings.ToLower(env("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return Settings{}, nil
	case "otlp":
		s.Enabled = true
	case "":
		s.Enabled = env("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default:
		return Settings{}, fmt.Errorf("%w: OTEL_TRACES_EXPORTER=%q (this build exports otlp or none)", ErrUnsupported, exp)
	}
	if !s.Enabled {
		return s, nil
	}
	s.Protocol = strings.ToLower(env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	if s.Protocol == "" {
		s.Protocol = strings.ToLower(env("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	switch s.Protocol {
	case "":
		s.Protocol = "http/protobuf"
	case "http/protobuf", "grpc":
	default:
		return Settings{}, fmt.Errorf("%w: OTLP protocol %q (this build speaks http/protobuf or grpc)", ErrUnsupported, s.Protocol)
	}
	return s, nil
}

// Start turns tracing on when the process's OTEL_* variables ask for it (see [FromEnv]):
// it installs a batching tracer provider that exports over OTLP, and the W3C trace
// context propagator (no baggage propagator: a client's baggage must not travel on). Otherwise it changes nothing: the global tracer stays
// a no-op and no exporter starts. shutdown flushes the spans still buffered and puts the
// no-op tracer back; it is never nil.
func Start(ctx context.Context, log *slog.Logger) (s Settings, shutdown func(context.Context) error, err error) {
	nothing := func(context.Context) error { return nil }
	if s, err = FromEnv(os.Getenv); err != nil || !s.Enabled {
		return s, nothing, err
	}
	exp, err := newExporter(ctx, s.Protocol)
	if err != nil {
		return Settings{}, nothing, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := newResource(ctx)
	if err != nil {
		log.Warn("OpenTelemetry resource is partial", "err", err)
	}
	// No sampler here: the SDK reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("OpenTelemetry", "err", err) }))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return s, func(ctx context.Context) error {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
		return tp.Shutdown(ctx)
	}, nil
}

func newExporter(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	if protocol == "grpc" {
		return otlptracegrpc.New(ctx)
	}
	return otlptracehttp.New(ctx)
}

// newResource is service.name switchboard, overridden by OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES, with the SDK's own attributes.
func newResource(ctx context.Context) (*resource.Resource, error) {
	return resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", DefaultServiceName)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithProcessPID(), resource.WithHost())
}
