package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/tracing"
)

// TestServeRefusesAnUnsupportedTraceExporter: serve reads the OTEL_* variables before it
// opens anything, and an exporter this build lacks stops it with the variable named,
// rather than running untraced.
func TestServeRefusesAnUnsupportedTraceExporter(t *testing.T) {
	t.Setenv("OTEL_SDK_DISABLED", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := serve(ctx, cfg)
	if !errors.Is(err, tracing.ErrUnsupported) {
		t.Fatalf("serve: %v, want %v", err, tracing.ErrUnsupported)
	}
	t.Log(err)
}
