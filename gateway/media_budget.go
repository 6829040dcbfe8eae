package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
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

// errMediaBusy answers work that could not get media memory in time.
var errMediaBusy = fmt.Errorf("%w: the server is handling too many photos and voice notes right now; retry in a few seconds", errBusy)

// holdUpload holds n bytes of the upload budget (nil budget: a nil hold, which holds
// nothing).
func (m *MediaBudget) holdUpload(ctx context.Context, n int64) (*membudget.Hold, error) {
	if m == nil {
		return nil, nil
	}
	h, err := m.upload.Acquire(ctx, n, m.wait)
	return h, m.refusal("upload", err)
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

// refusal counts and maps a budget's error to the gateway's sentinels.
func (m *MediaBudget) refusal(budget string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, membudget.ErrBusy):
		m.refused.WithLabelValues(budget, "busy").Inc()
		return fmt.Errorf("%w (%v)", errMediaBusy, err)
	case errors.Is(err, membudget.ErrTooLarge):
		m.refused.WithLabelValues(budget, "too_large").Inc()
		return fmt.Errorf("%w: the media need more memory than this server gives media at once (%v)", errTooLarge, err)
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

// holdFetchedMedia reserves the upload memory of the media a webhook turn names by
// reference, each up to the media limit, before the fetch stage downloads them.
func (s *Server) holdFetchedMedia(ctx context.Context, t *pipeline.Turn) (*membudget.Hold, error) {
	n := int64(0)
	for _, p := range t.Parts {
		if p.Kind != pipeline.PartText && p.Data == nil && p.Ref != "" {
			n += s.maxMediaPart()
		}
	}
	if n == 0 {
		return nil, nil
	}
	return s.opts.Media.holdUpload(ctx, n)
}
