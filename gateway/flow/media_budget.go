package flow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/internal/membudget"
)

// MediaBudget bounds the memory customer media take, across all requests of a process:
//
//   - uploads: the encoded bytes of a message's photos and voice notes (REST multipart,
//     media fetched for a webhook turn, an image to classify) are held from before the
//     first one is read until the turn's ingress is done;
//   - decodes: the pixel and PCM buffers of one photo or voice note are held from before
//     its decode until its tensor or transcript is made (DecodeCost, audio duration).
//
// The two are separate budgets taken in that order, so work that holds its upload and
// waits for a decode only ever waits for decodes, which never wait for anything: no
// deadlock, however full both are. Waiting is bounded (Wait, and the request's context);
// then the request gets 429 with a clear message. A nil *MediaBudget bounds nothing.
type MediaBudget struct {
	upload, decode *membudget.Budget
	wait           time.Duration
	refused        *prometheus.CounterVec
}

// DefaultMediaWait is how long work waits for media memory by default.
const DefaultMediaWait = 10 * time.Second

// MediaMemory is the memory the media budget may use: configured when > 0, else a
// quarter of the process's memory limit (cgroup memory.max, else MemTotal). It also says
// where the figure came from.
func MediaMemory(configured int64) (int64, string, error) {
	if configured > 0 {
		return configured, "limits.media_memory_bytes", nil
	}
	limit, source, err := membudget.Limit()
	if err != nil {
		return 0, "", fmt.Errorf("media memory: %w (set limits.media_memory_bytes)", err)
	}
	return limit / 4, "a quarter of " + source, nil
}

// NewMediaBudget splits total bytes evenly between uploads and decodes; wait ≤ 0 takes
// DefaultMediaWait. Its gauges and refusal counter go to reg.
func NewMediaBudget(total int64, wait time.Duration, reg prometheus.Registerer) *MediaBudget {
	if wait <= 0 {
		wait = DefaultMediaWait
	}
	m := &MediaBudget{upload: membudget.New(total / 2), decode: membudget.New(total - total/2), wait: wait,
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_media_budget_refusals_total",
			Help: "Media refused for memory: budget (upload, decode), reason (busy: not free in time; too_large: over the whole budget)."},
			[]string{"budget", "reason"})}
	reg.MustRegister(m.refused)
	for name, b := range map[string]*membudget.Budget{"upload": m.upload, "decode": m.decode} {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_media_budget_bytes",
				Help:        "Media memory budget in bytes by budget (upload, decode) and state (limit, in_use).",
				ConstLabels: prometheus.Labels{"budget": name, "state": "limit"}}, func() float64 { return float64(b.Size()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_media_budget_bytes",
				Help:        "Media memory budget in bytes by budget (upload, decode) and state (limit, in_use).",
				ConstLabels: prometheus.Labels{"budget": name, "state": "in_use"}}, func() float64 { return float64(b.InUse()) }))
	}
	return m
}

// The media budget's refusals.
var (
	// ErrMediaBusy: the media memory was not free in time.
	ErrMediaBusy = errors.New("server busy: the server is handling too many photos and voice notes right now; retry in a few seconds")
	// ErrMediaTooLarge: the media need more memory than the whole budget.
	ErrMediaTooLarge = errors.New("media too large")
)

// HoldUpload holds n bytes of the upload budget (nil budget: a nil hold, which holds
// nothing).
func (m *MediaBudget) HoldUpload(ctx context.Context, n int64) (*membudget.Hold, error) {
	if m == nil {
		return nil, nil
	}
	h, err := m.upload.Acquire(ctx, n, m.wait)
	return h, m.refusal("upload", err)
}

// UploadSize is the upload budget's size: the most one request may hold (0 for a nil budget).
func (m *MediaBudget) UploadSize() int64 {
	if m == nil {
		return 0
	}
	return m.upload.Size()
}

// InUse is the memory held now by uploads and by decodes (0, 0 for a nil budget).
func (m *MediaBudget) InUse() (upload, decode int64) {
	if m == nil {
		return 0, 0
	}
	return m.upload.InUse(), m.decode.InUse()
}

// Acquire holds n bytes of the decode budget until release (vision.MemoryLimiter).
func (m *MediaBudget) Acquire(ctx context.Context, n int64) (release func(), err error) {
	if m == nil {
		return func() {}, nil
	}
	h, err := m.decode.Acquire(ctx, n, m.wait)
	if err != nil {
		return nil, m.refusal("decode", err)
	}
	return h.Release, nil
}

// refusal counts and names a budget's error.
func (m *MediaBudget) refusal(budget string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, membudget.ErrBusy):
		m.refused.WithLabelValues(budget, "busy").Inc()
		return fmt.Errorf("%w (%v)", ErrMediaBusy, err)
	case errors.Is(err, membudget.ErrTooLarge):
		m.refused.WithLabelValues(budget, "too_large").Inc()
		return fmt.Errorf("%w: the media need more memory than this server gives media at once (%v)", ErrMediaTooLarge, err)
	}
	return err
}

// audioDecodeCost bounds the memory decoding an encoded voice note takes: its 16 kHz
// PCM for the longest it can last (the duration limit, or what its size allows at the
// lowest bit rate of its container: 8 kHz 8-bit WAV, 6 kbit/s Opus), plus buffers.
func audioDecodeCost(data []byte, lim audio.Limits) int64 {
	maxDur := lim.MaxDuration
	if maxDur <= 0 {
		maxDur = audio.DefaultMaxDuration
	}
	bytesPerSecond := 8000.0
	if bytes.HasPrefix(data, []byte("OggS")) {
		bytesPerSecond = 750
	}
	seconds := min(maxDur.Seconds(), float64(len(data))/bytesPerSecond)
	return int64(seconds*16000*2) + 1<<20
}
