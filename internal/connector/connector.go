package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// Options are a connector's collaborators; every field may be left zero.
type Options struct {
	// Client sends the requests (and OAuth2 token requests). Default: a client
	// without its own timeout (Config.Timeout bounds each attempt) that does not
	// follow redirects (a 3xx is ErrBadResponse).
	Client *http.Client
	// Logger gets one record per call: connector, operation, outcome, attempts and
	// duration; never input values, URLs or secrets. Default: discard.
	Logger *slog.Logger
	// Registerer gets the switchboard_connector_* series; nil: not exported.
	Registerer prometheus.Registerer
	// Now stamps HMAC signatures. Default time.Now.
	Now func() time.Time
	// Getenv resolves the *_env secrets. Default os.Getenv.
	Getenv func(string) string
}

// Connector calls the operations of one remote system. It is safe for concurrent use.
type Connector struct {
	name   string
	cfg    Config
	base   *url.URL
	allow  []string
	ops    map[string]*operation
	auth   authenticator
	client *http.Client
	log    *slog.Logger
	// cache holds results until their expiry, read lazily (no cleaning goroutine:
	// a connector needs no Close).
	cache    *lru.Cache[string, cachedResult]
	cacheTTL time.Duration
	now      func() time.Time
	breaker  *gobreaker.CircuitBreaker[Result]
	m        *metrics
}

// New validates cfg — base URL, auth, every template, JSONPath and type, and that
// templates reference allowed fields only (else an error wrapping ErrNotAllowed) — and
// returns the connector. Other configuration errors wrap ErrConfig.
func New(cfg Config, opts Options) (*Connector, error) {
	cfg = cfg.withDefaults()
	if !identifier.MatchString(cfg.Name) {
		return nil, fmt.Errorf("%w: connector name %q must be an identifier", ErrConfig, cfg.Name)
	}
	c := &Connector{name: cfg.Name, cfg: cfg, client: opts.Client, log: opts.Logger, ops: map[string]*operation{}}
	wrap := func(err error) error { return fmt.Errorf("connector %s: %w", cfg.Name, err) }
	if c.client == nil { // redirects are not followed: an API answers, it does not move
		c.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("connector", cfg.Name)
	now, getenv := opts.Now, opts.Getenv
	if now == nil {
		now = time.Now
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, wrap(fmt.Errorf("%w: base_url must be an absolute http(s) URL", ErrConfig))
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, wrap(fmt.Errorf("%w: base_url must have no credentials, query or fragment", ErrConfig))
	}
	c.base = base
	if cfg.Timeout < 0 || cfg.RetryBackoff < 0 || cfg.Breaker.OpenFor < 0 || cfg.CacheSize < 0 {
		return nil, wrap(fmt.Errorf("%w: timeout, retry_backoff, open_for and cache_size must not be negative", ErrConfig))
	}
	allow := map[string]bool{}
	for _, f := range cfg.Allow {
		if !identifier.MatchString(f) {
			return nil, wrap(fmt.Errorf("%w: allow: %q is not a field name", ErrConfig, f))
		}
		allow[f] = true
	}
	c.allow = slices.Sorted(maps.Keys(allow))
	if len(cfg.Operations) == 0 {
		return nil, wrap(fmt.Errorf("%w: no operations", ErrConfig))
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Operations)) {
		if !identifier.MatchString(name) {
			return nil, wrap(fmt.Errorf("%w: operation name %q must be an identifier", ErrConfig, name))
		}
		o, err := compileOperation(name, cfg.Operations[name], allow)
		if err != nil {
			return nil, wrap(err)
		}
		c.ops[name] = o
	}
	if c.auth, err = newAuth(cfg.Auth, c.client, now, getenv); err != nil {
		return nil, wrap(err)
	}
	if cfg.CacheTTL > 0 {
		if c.cache, err = lru.New[string, cachedResult](cfg.CacheSize); err != nil {
			return nil, fmt.Errorf("%w: cache_size: %v", ErrConfig, err)
		}
		c.cacheTTL, c.now = cfg.CacheTTL, now
	}
	c.m = newMetrics(opts.Registerer)
	c.m.open.WithLabelValues(c.name).Set(0)
	if cfg.Breaker.Failures > 0 {
		c.breaker = gobreaker.NewCircuitBreaker[Result](c.breakerSettings())
	}
	return c, nil
}

func (c *Connector) breakerSettings() gobreaker.Settings {
	failures := uint32(c.cfg.Breaker.Failures)
	return gobreaker.Settings{
		Name:        c.name,
		MaxRequests: 1,
		Timeout:     c.cfg.Breaker.OpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= failures },
		// A record that does not exist, a request the remote system (or this
		// package) refused as malformed: the system is up.
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrRejected) ||
				errors.Is(err, ErrNotAllowed) || errors.Is(err, ErrConfig)
		},
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			open := 0.0
			if to == gobreaker.StateOpen {
				open = 1
			}
			c.m.open.WithLabelValues(c.name).Set(open)
			c.log.Info("connector circuit", "from", from.String(), "to", to.String())
		},
	}
}

// Name is the connector's name.
func (c *Connector) Name() string { return c.name }

// Operations are the names of the connector's operations, sorted.
func (c *Connector) Operations() []string { return slices.Sorted(maps.Keys(c.ops)) }

// Call runs operation op with the inputs in. Inputs outside the allow-list are
// dropped, never sent. A cached result (or not-found answer) is returned without a
// request. On "no such record" it returns Result{Found: false} and an error wrapping
// ErrNotFound; other failures wrap the package's sentinels and never hold input
// values. The caller's ctx bounds the whole call including retries.
func (c *Connector) Call(ctx context.Context, op string, in map[string]string) (Result, error) {
	o, ok := c.ops[op]
	if !ok {
		return Result{}, fmt.Errorf("connector %s: %w %q", c.name, ErrUnknownOperation, op)
	}
	data := c.data(in)
	if m := o.missing(data); m != "" {
		err := fmt.Errorf("connector %s: %s: %w: %s", c.name, op, ErrMissingInput, m)
		c.record(ctx, op, err, 0, 0)
		return Result{}, err
	}
	key := cacheKey(op, data)
	if c.cache != nil {
		if hit, ok := c.cache.Get(key); ok && c.now().Before(hit.until) {
			res := hit.res
			c.m.requests.WithLabelValues(c.name, op, OutcomeCacheHit).Inc()
			c.log.DebugContext(ctx, "connector call", "operation", op, "outcome", OutcomeCacheHit)
			if !res.Found {
				return Result{}, fmt.Errorf("connector %s: %s: %w (cached)", c.name, op, ErrNotFound)
			}
			return res.clone(), nil
		}
	}
	start := time.Now()
	attempts := 0
	run := func() (Result, error) { return c.withRetries(ctx, o, data, &attempts) }
	var res Result
	var err error
	if c.breaker != nil {
		res, err = c.breaker.Execute(run)
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			err = fmt.Errorf("%w", ErrCircuitOpen)
		}
	} else {
		res, err = run()
	}
	if err != nil {
		err = fmt.Errorf("connector %s: %s: %w", c.name, op, err)
	}
	c.record(ctx, op, err, attempts, time.Since(start))
	if c.cache != nil && (err == nil || errors.Is(err, ErrNotFound)) {
		c.cache.Add(key, cachedResult{res: res.clone(), until: c.now().Add(c.cacheTTL)})
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// data restricts in to the allow-list; allowed fields not given are "".
func (c *Connector) data(in map[string]string) map[string]string {
	data := make(map[string]string, len(c.allow))
	for _, f := range c.allow {
		data[f] = in[f]
	}
	return data
}

// cacheKey hashes the operation and its inputs so no input is kept in clear as a key.
func cacheKey(op string, data map[string]string) string {
	h := sha256.New()
	h.Write([]byte(op))
	for _, k := range slices.Sorted(maps.Keys(data)) {
		fmt.Fprintf(h, "\x00%s\x00%s", k, data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// record counts and logs one call that was not a cache hit.
func (c *Connector) record(ctx context.Context, op string, err error, attempts int, d time.Duration) {
	outcome := Outcome(err)
	c.m.requests.WithLabelValues(c.name, op, outcome).Inc()
	if attempts > 0 {
		c.m.seconds.WithLabelValues(c.name, op).Observe(d.Seconds())
	}
	level := slog.LevelDebug
	switch outcome {
	case OutcomeOK, OutcomeNotFound, OutcomeCanceled:
	default:
		level = slog.LevelWarn
	}
	attrs := []any{"operation", op, "outcome", outcome, "attempts", attempts, "duration", d}
	if err != nil && outcome != OutcomeNotFound {
		attrs = append(attrs, "err", err.Error())
	}
	c.log.Log(ctx, level, "connector call", attrs...)
}

// cachedResult is a cached call's result and when it expires.
type cachedResult struct {
	res   Result
	until time.Time
}
