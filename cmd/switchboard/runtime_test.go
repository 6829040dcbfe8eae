package main

import (
	"io"
	"log/slog"
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
