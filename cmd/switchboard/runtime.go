package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"

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

// capHeap sets the Go runtime's soft memory limit, once serve has loaded what it keeps
// (models, the knowledge base), to the memory it holds then plus one and a half media
// budgets, unless GOMEMLIMIT says otherwise: with runtime.gc_percent above Go's 100 the
// heap may grow several times what a collection left live, and photos and voice notes
// in flight (up to the media budget) would let it grow by several budgets
// (TestMaximalUploadsStayWithinMemory: 1,447 MiB of RSS without the limit, over its
// bound of 1,255; 1,011 with it). Half a budget above what media may hold live leaves
// the collector room; near the limit it runs as often as it must. It returns the limit
// in force.
func capHeap(mediaBudget int64, log *slog.Logger, lookupEnv func(string) (string, bool)) int64 {
	if _, ok := lookupEnv("GOMEMLIMIT"); ok {
		return debug.SetMemoryLimit(-1)
	}
	if mediaBudget <= 0 {
		return debug.SetMemoryLimit(-1)
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	held := int64(s[0].Value.Uint64() - s[1].Value.Uint64())
	limit := held + mediaBudget + mediaBudget/2
	if limit < 0 { // overflow
		limit = math.MaxInt64
	}
	debug.SetMemoryLimit(limit)
	log.Debug("runtime: soft memory limit", "bytes", limit, "held_at_start", held, "media_budget", mediaBudget)
	return limit
}
