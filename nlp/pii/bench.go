package pii

import (
	"context"
	"errors"
	"time"
)

// ErrNoTexts reports a benchmark without input.
var ErrNoTexts = errors.New("pii: no texts to benchmark")

// BenchResult is the throughput of redaction on one goroutine (one core).
type BenchResult struct {
	Bytes           int64
	Seconds         float64
	MBPerSecPerCore float64
}

// Bench redacts texts with r round-robin on the calling goroutine for about dur (at least
// one pass) and reports the bytes processed per second in MB (10^6 bytes).
func Bench(ctx context.Context, r *Redactor, texts []string, dur time.Duration) (BenchResult, error) {
	if len(texts) == 0 {
		return BenchResult{}, ErrNoTexts
	}
	var n int64
	start := time.Now()
	deadline := start.Add(dur)
	for i := 0; i < len(texts) || time.Now().Before(deadline); i++ {
		t := texts[i%len(texts)]
		if _, err := r.Redact(ctx, t); err != nil {
			return BenchResult{}, err
		}
		n += int64(len(t))
	}
	secs := time.Since(start).Seconds()
	return BenchResult{Bytes: n, Seconds: secs, MBPerSecPerCore: float64(n) / 1e6 / secs}, nil
}
