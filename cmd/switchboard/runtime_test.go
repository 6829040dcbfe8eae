package main

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/config"
)

func TestTuneRuntimeLeavesGOGCFromTheEnvironment(t *testing.T) {
	prev := debug.SetGCPercent(150)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name string
		env  map[string]string
		want int
	}{
		{"the configured percentage", nil, 400},
		{"GOGC set: what the runtime read stays", map[string]string{"GOGC": "150"}, 150},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(150)
			lookup := func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			got := tuneRuntime(config.RuntimeConfig{GCPercent: 400}, log, lookup)
			inForce := debug.SetGCPercent(150)
			if got != tc.want || inForce != tc.want {
				t.Fatalf("tuneRuntime = %d, in force %d; want %d", got, inForce, tc.want)
			}
		})
	}
}

func TestCapHeapLeavesGOMEMLIMITFromTheEnvironment(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const budget = 256 << 20
	debug.SetMemoryLimit(math.MaxInt64)
	got := capHeap(budget, log, func(string) (string, bool) { return "", false })
	if inForce := debug.SetMemoryLimit(-1); got != inForce || got < budget*3/2 || got > budget*3/2+(4<<30) {
		t.Fatalf("capHeap = %d, in force %d; want the memory held now plus %d", got, inForce, budget*3/2)
	}
	debug.SetMemoryLimit(1 << 40)
	if got := capHeap(budget, log, func(k string) (string, bool) { return "1TiB", k == "GOMEMLIMIT" }); got != 1<<40 {
		t.Fatalf("with GOMEMLIMIT set, capHeap = %d; want the limit the runtime read (%d) left alone", got, int64(1<<40))
	}
}
