package main

import (
	"log/slog"
	"runtime/debug"

	"github.com/switchboard-cs/switchboard/internal/config"
)

// tuneRuntime applies runtime.gc_percent unless the environment variable GOGC,
// which the Go runtime read at start, says otherwise. It returns the GC
// percentage in force.
func tuneRuntime(rc config.RuntimeConfig, log *slog.Logger, lookupEnv func(string) (string, bool)) int {
	if v, ok := lookupEnv("GOGC"); ok {
		log.Debug("runtime: GOGC from the environment", "gogc", v)
		prev := debug.SetGCPercent(100)
		debug.SetGCPercent(prev)
		return prev
	}
	debug.SetGCPercent(rc.GCPercent)
	return rc.GCPercent
}
