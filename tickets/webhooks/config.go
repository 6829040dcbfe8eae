package webhooks

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"time"
)

// Event types an endpoint may subscribe to.
const (
	TicketCreated  = "ticket.created"
	TicketAssigned = "ticket.assigned"
	TicketResolved = "ticket.resolved"
	TicketClosed   = "ticket.closed"
	CSATSubmitted  = "csat.submitted"
	QAScored       = "qa.scored"
	// QAConversationScored: a resolved ticket's conversation was scored as a whole.
	QAConversationScored = "qa.conversation_scored"
)

// EventTypes lists every event type, in the order they are documented.
var EventTypes = []string{TicketCreated, TicketAssigned, TicketResolved, TicketClosed, CSATSubmitted, QAScored, QAConversationScored}

// Config is the webhooks section of the configuration.
type Config struct {
	Endpoints []Endpoint `yaml:"endpoints"`
	// MaxAttempts is how many times a delivery is tried before it is failed.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff is the wait after each failed attempt (the first entry after the first
	// failure, …); the last entry repeats. Each wait is jittered by ±20%.
	Backoff []time.Duration `yaml:"backoff"`
	// PollInterval is how often the dispatcher looks for new events and due deliveries.
	PollInterval time.Duration `yaml:"poll_interval"`
}

// Endpoint is one receiver of webhooks.
type Endpoint struct {
	// Name identifies the endpoint in the delivery log and in metrics; keep it stable.
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// Secret signs the requests; SecretEnv names an environment variable holding it
	// instead (one of them is required).
	Secret    string `yaml:"secret"`
	SecretEnv string `yaml:"secret_env"`
	// Events are the event types sent to the endpoint; empty (or "*") is all of them.
	Events []string `yaml:"events"`
	// Timeout bounds one attempt, response included.
	Timeout time.Duration `yaml:"timeout"`
}

// Default values.
const (
	DefaultMaxAttempts  = 8
	DefaultTimeout      = 10 * time.Second
	DefaultPollInterval = time.Second
)

// DefaultBackoff is the retry schedule when Config.Backoff is empty: 10 s, 30 s, 2 min,
// 10 min, 30 min, then every hour (about 4 hours over the default 8 attempts).
var DefaultBackoff = []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour}

// Default returns the configuration with no endpoints.
func Default() Config {
	return Config{MaxAttempts: DefaultMaxAttempts, Backoff: slices.Clone(DefaultBackoff), PollInterval: DefaultPollInterval}
}

// ErrInvalidConfig reports a webhooks configuration that cannot run.
var ErrInvalidConfig = errors.New("invalid webhooks configuration")

// Validate checks the configuration as given (zero values are filled in by New, not
// errors): endpoint names unique, URLs absolute http(s), a secret for each, known event
// types, no negative durations or attempts.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.MaxAttempts < 0 {
		bad("max_attempts %d is negative", c.MaxAttempts)
	}
	if c.PollInterval < 0 {
		bad("poll_interval %s is negative", c.PollInterval)
	}
	for i, d := range c.Backoff {
		if d <= 0 {
			bad("backoff[%d] %s is not positive", i, d)
		}
	}
	seen := map[string]bool{}
	for i, e := range c.Endpoints {
		at := fmt.Sprintf("endpoints[%d] (%s)", i, e.Name)
		if e.Name == "" {
			bad("endpoints[%d] has no name", i)
		} else if seen[e.Name] {
			bad("%s: name used twice", at)
		}
		seen[e.Name] = true
		if u, err := url.Parse(e.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s: url must be an absolute http or https URL", at)
		}
		if e.Secret != "" && e.SecretEnv != "" {
			bad("%s: give secret or secret_env, not both", at)
		} else if e.secret() == "" {
			bad("%s: no secret (set secret, or secret_env to a variable that is set)", at)
		}
		for _, ev := range e.Events {
			if ev != "*" && !slices.Contains(EventTypes, ev) {
				bad("%s: unknown event type %q (known: %v)", at, ev, EventTypes)
			}
		}
		if e.Timeout < 0 {
			bad("%s: timeout %s is negative", at, e.Timeout)
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills in the zero values.
func (c Config) withDefaults() Config {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if len(c.Backoff) == 0 {
		c.Backoff = DefaultBackoff
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	c.Endpoints = slices.Clone(c.Endpoints)
	for i := range c.Endpoints {
		if c.Endpoints[i].Timeout == 0 {
			c.Endpoints[i].Timeout = DefaultTimeout
		}
	}
	return c
}

// secret is the signing secret, read from the environment when SecretEnv names it.
func (e Endpoint) secret() string {
	if e.Secret != "" {
		return e.Secret
	}
	if e.SecretEnv != "" {
		return os.Getenv(e.SecretEnv)
	}
	return ""
}

// Wants reports whether the endpoint subscribes to events of type typ.
func (e Endpoint) Wants(typ string) bool {
	return len(e.Events) == 0 || slices.Contains(e.Events, "*") || slices.Contains(e.Events, typ)
}

// LogValue logs the endpoint's name and host, never its secret (nor a token in its URL).
func (e Endpoint) LogValue() slog.Value {
	host := ""
	if u, err := url.Parse(e.URL); err == nil {
		host = u.Host
	}
	return slog.GroupValue(slog.String("name", e.Name), slog.String("host", host))
}
