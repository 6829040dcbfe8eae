package flow

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/tickets"
)

// Results of an attempt, as switchboard_queue_results_total counts them.
const (
	resultDelivered    = "delivered"     // answered and sent, or a reply sent
	resultRetried      = "retried"       // failed, tried again later
	resultDeadLettered = "dead_lettered" // given up: state failed
)

// QueueMetrics are the durable queues' gauges (rows pending and failed, per
// queue and channel) and counters (attempts delivered, retried, dead-lettered).
type QueueMetrics struct {
	rows    *prometheus.GaugeVec
	results *prometheus.CounterVec
	mu      sync.Mutex
	shown   map[[3]string]bool // gauge series set before, so a drained one reads 0
}

// NewQueueMetrics registers the queue metrics on reg.
func NewQueueMetrics(reg prometheus.Registerer) *QueueMetrics {
	m := &QueueMetrics{
		rows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_queue_rows",
			Help: "Rows of the durable queues (turns: customer turns to answer; outbox: agents' replies to push channels) by channel and state (pending, failed = dead letters)."},
			[]string{"queue", "channel", "state"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_queue_results_total",
			Help: "Attempts of the durable queues by channel and result: delivered, retried (failed, tried again later), dead_lettered (given up)."},
			[]string{"queue", "channel", "result"}),
		shown: map[[3]string]bool{},
	}
	reg.MustRegister(m.rows, m.results)
	return m
}

// Expect exports queue's series for channels as 0 before any row or attempt: its
// pending and failed rows and its results. Known from the start, the dead-letter alert and
// rates over the results work from the first event.
func (m *QueueMetrics) Expect(queue string, channels ...string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ch := range channels {
		for _, state := range []string{"pending", "failed"} {
			k := [3]string{queue, ch, state}
			if !m.shown[k] {
				m.shown[k] = true
				m.rows.WithLabelValues(k[:]...).Set(0)
			}
		}
		for _, r := range []string{resultDelivered, resultRetried, resultDeadLettered} {
			m.results.WithLabelValues(queue, ch, r)
		}
	}
}

func (m *QueueMetrics) result(queue, channel, result string) {
	if m != nil {
		m.results.WithLabelValues(queue, channel, result).Inc()
	}
}

// set replaces the row gauges with counts; series not in counts read 0.
func (m *QueueMetrics) set(counts []tickets.QueueCount) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := map[[3]string]bool{}
	for _, c := range counts {
		k := [3]string{c.Queue, c.Channel, c.State}
		now[k], m.shown[k] = true, true
		m.rows.WithLabelValues(k[:]...).Set(float64(c.N))
	}
	for k := range m.shown {
		if !now[k] {
			m.rows.WithLabelValues(k[:]...).Set(0)
		}
	}
}

// RunMaintenance runs Maintain every interval until ctx ends (one per
// process is enough; more do no harm).
func (w *Worker) RunMaintenance(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := w.Maintain(ctx); err != nil && ctx.Err() == nil && !w.outage.paused() {
			w.Log.Warn("queue maintenance", "err", err) // while the store is down, the pause says it all
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Maintain gives up rows whose attempts were abandoned too often (a crash
// loop), deletes agents' originals whose hold ended, and refreshes the queue
// gauges. A panic is recovered and returned.
func (w *Worker) Maintain(ctx context.Context) (err error) {
	defer w.Panics.Recover("worker.maintain", &err)
	gaveUp, err := w.Store.GiveUpAbandoned(ctx, w.Retry.WithDefaults().MaxAbandoned)
	if err != nil {
		return err
	}
	for _, g := range gaveUp {
		for range g.N {
			w.Metrics.result(g.Queue, g.Channel, resultDeadLettered)
		}
		w.Log.Error("gave up rows whose attempts kept crashing or hanging the worker (dead letters): re-queue them with switchboard outbox retry once fixed",
			"queue", g.Queue, "channel", g.Channel, "rows", g.N)
	}
	if _, err := w.Store.ReleaseOriginals(ctx); err != nil {
		return err
	}
	counts, err := w.Store.QueueCounts(ctx)
	if err != nil {
		return err
	}
	w.Metrics.set(counts)
	return nil
}
