package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/internal/safe"
)

// Options are the Dispatcher's collaborators; every field is optional.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Client sends the requests (default: a client of its own). Redirects are never
	// followed: a 3xx answer is a failed attempt.
	Client *http.Client
	// Now stamps deliveries and decides which are due (default time.Now).
	Now func() time.Time
	// Panics recovers a panicking loop, which starts again (nil: recovered all the same).
	Panics *safe.Guard
}

// Tuning that is not configuration.
const (
	// sourceBatch is how many source rows one transaction reads.
	sourceBatch = 500
	// sourceOverlap is how far back the time-ordered sources (CSAT, quality) are read
	// again each time: a row stamped at its statement's start but committed up to this
	// much later is still found. Event ids make the second read harmless.
	sourceOverlap = time.Minute
	// leaseMargin is added to an endpoint's timeout for the lease of a claim.
	leaseMargin = 30 * time.Second
	// drainMax bounds the deliveries an endpoint's loop sends before it looks at the
	// clock again.
	drainMax = 1000
)

// Dispatcher turns ticket events into signed webhook deliveries and sends them. Several
// replicas may run one on the same database.
type Dispatcher struct {
	*DeliveryLog
	cfg    Config
	log    *slog.Logger
	client *http.Client
	now    func() time.Time
	m      *metrics
	panics *safe.Guard
	// wake nudges an endpoint's loop when deliveries were queued for it.
	wake        map[string]chan struct{}
	cursorsMade atomic.Bool
}

// New returns a dispatcher for cfg's endpoints (ErrInvalidConfig when cfg does not
// validate). It does no I/O: Run does.
func New(pool *pgxpool.Pool, cfg Config, opts Options) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Dispatcher{DeliveryLog: NewDeliveryLog(pool, opts.Now), cfg: cfg, log: opts.Logger, now: opts.Now,
		m: newMetrics(opts.Registerer), panics: opts.Panics, wake: map[string]chan struct{}{}}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	client := http.Client{}
	if opts.Client != nil {
		client = *opts.Client
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d.client = &client
	for _, ep := range cfg.Endpoints {
		d.wake[ep.Name] = make(chan struct{}, 1)
		for _, o := range []string{OutcomeDelivered, OutcomeRetry, OutcomeFailed} {
			d.m.deliveries.WithLabelValues(ep.Name, o)
		}
		d.m.backlog.WithLabelValues(ep.Name)
	}
	return d, nil
}

// Run reads new events and sends due deliveries every poll interval until ctx ends,
// then returns nil once every loop stopped (an attempt in flight is abandoned and left
// due). It returns at once when no endpoint is configured.
func (d *Dispatcher) Run(ctx context.Context) error {
	if len(d.cfg.Endpoints) == 0 {
		return nil
	}
	var wg sync.WaitGroup
	for _, ep := range d.cfg.Endpoints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			safe.Restart(ctx, d.panics, "webhooks_deliver", d.cfg.PollInterval, func() { d.deliverLoop(ctx, ep) })
		}()
	}
	safe.Restart(ctx, d.panics, "webhooks_events", d.cfg.PollInterval, func() { d.eventLoop(ctx) })
	wg.Wait()
	return nil
}

// eventLoop queues the deliveries of new events and refreshes the backlog gauge.
func (d *Dispatcher) eventLoop(ctx context.Context) {
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		if err := d.pollEvents(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("webhooks: reading events", "err", err)
		}
		if err := d.refreshBacklog(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("webhooks: counting the backlog", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// deliverLoop sends ep's due deliveries, one at a time and oldest first.
func (d *Dispatcher) deliverLoop(ctx context.Context, ep Endpoint) {
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		for range drainMax {
			sent, err := d.deliverNext(ctx, ep)
			if err != nil && ctx.Err() == nil {
				d.log.Error("webhooks: delivering", "endpoint", ep, "err", err)
			}
			if !sent || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-d.wake[ep.Name]:
		}
	}
}

// nudge wakes the loops of the endpoints that have new deliveries.
func (d *Dispatcher) nudge(endpoints map[string]bool) {
	for name := range endpoints {
		select {
		case d.wake[name] <- struct{}{}:
		default:
		}
	}
}

// refreshBacklog sets the backlog gauge of every configured endpoint.
func (d *Dispatcher) refreshBacklog(ctx context.Context) error {
	counts, err := d.Backlog(ctx)
	if err != nil {
		return err
	}
	for _, ep := range d.cfg.Endpoints {
		d.m.backlog.WithLabelValues(ep.Name).Set(float64(counts[ep.Name]))
	}
	return nil
}

// errStopped marks an attempt abandoned because the dispatcher is stopping.
var errStopped = errors.New("dispatcher stopping")
