package connector

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// Config describes one remote system (a CRM, an ERP). docs/connectors.md documents
// every key; zero values take the defaults below, a negative Retries, CacheTTL or
// Breaker.Failures turns the feature off.
type Config struct {
	// Name labels metrics and logs ("crm", "erp"); ParseYAML sets it from the map key.
	Name string `yaml:"name"`
	// BaseURL is the absolute http(s) URL every operation path is appended to. No
	// credentials in it (use Auth), no query.
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one attempt (connect, headers and body). Default 3s.
	Timeout time.Duration `yaml:"timeout"`
	// Retries is how many times a timeout, 5xx, 429 or network failure is retried.
	// Default 2; negative: none.
	Retries int `yaml:"retries"`
	// RetryBackoff is the first backoff; it doubles per retry (capped at 2s) with
	// jitter. Default 100ms.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
	// CacheTTL is how long results and not-found answers are kept. Default 5m;
	// negative: no cache.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// CacheSize bounds the cached entries (LRU). Default 1000.
	CacheSize int           `yaml:"cache_size"`
	Breaker   BreakerConfig `yaml:"breaker"`
	Auth      AuthConfig    `yaml:"auth"`
	// Allow lists the input fields this system may receive (channel_id, email,
	// phone, order_id, …). Templates may reference only these; other inputs are
	// dropped before any template runs.
	Allow []string `yaml:"allow"`
	// Headers are sent with every request (static text, no templates).
	Headers map[string]string `yaml:"headers"`
	// Operations by name ("lookup_customer", "get_order").
	Operations map[string]Operation `yaml:"operations"`
}

// BreakerConfig is the circuit breaker of one connector.
type BreakerConfig struct {
	// Failures is the number of consecutive failed calls that opens the circuit.
	// Default 5; negative: no breaker.
	Failures int `yaml:"failures"`
	// OpenFor is how long the circuit stays open before one probe call is let
	// through (half-open). Default 30s.
	OpenFor time.Duration `yaml:"open_for"`
}

// Auth types.
const (
	AuthNone   = "none"
	AuthBearer = "bearer"
	AuthHMAC   = "hmac"
	AuthOAuth2 = "oauth2"
)

// AuthConfig is how requests authenticate. Secrets come from the file or, better, from
// the environment (the *_env keys); they are never logged nor put into errors.
type AuthConfig struct {
	// Type is none (default), bearer, hmac or oauth2.
	Type string `yaml:"type"`

	// bearer: Authorization: Bearer <token>.
	Token    Secret `yaml:"token"`
	TokenEnv string `yaml:"token_env"`

	// hmac: see docs/connectors.md for the signed string.
	Secret          Secret `yaml:"secret"`
	SecretEnv       string `yaml:"secret_env"`
	Header          string `yaml:"header"`           // default X-Switchboard-Signature
	TimestampHeader string `yaml:"timestamp_header"` // default X-Switchboard-Timestamp

	// oauth2 client credentials (RFC 6749 §4.4).
	TokenURL        string            `yaml:"token_url"`
	ClientID        string            `yaml:"client_id"`
	ClientSecret    Secret            `yaml:"client_secret"`
	ClientSecretEnv string            `yaml:"client_secret_env"`
	Scopes          []string          `yaml:"scopes"`
	TokenParams     map[string]string `yaml:"token_params"` // extra form values (audience, …)
	// AuthStyle is how the client credentials reach the token endpoint: header
	// (HTTP Basic), params (form body) or empty (try header, then params).
	AuthStyle string `yaml:"auth_style"`
}

// Operation is one templated request and the mapping of its JSON answer.
type Operation struct {
	// Method is the HTTP method; default GET, or POST when Body is set.
	Method string `yaml:"method"`
	// Path is a text/template over the allowed input fields, appended to BaseURL. It
	// may carry a query. Values are percent-encoded (RFC 3986 unreserved kept).
	Path string `yaml:"path"`
	// Query are further query parameters, each value a template; values are inserted
	// raw and the whole parameter is then query-encoded. The soql function escapes a
	// value for a SOQL string literal.
	Query map[string]string `yaml:"query"`
	// Body is an optional template producing JSON; values are JSON-string-escaped, so
	// write "{{.email}}" inside quotes.
	Body string `yaml:"body"`
	// Headers are templates; values are inserted raw (line breaks refused).
	Headers map[string]string `yaml:"headers"`
	// Required lists inputs that must be non-empty; "email|phone" means one of them.
	Required []string `yaml:"required"`
	// Map is output field -> JSONPath (RFC 9535) into the answer.
	Map map[string]string `yaml:"map"`
	// Types is output field -> string, int, float, bool, strings, join or json
	// (default auto: the JSON value, numbers as int64 or float64).
	Types map[string]string `yaml:"types"`
	// Exists is a JSONPath that selects something when the record exists; default:
	// at least one Map path selects a non-null value.
	Exists string `yaml:"exists"`
	// NotFound are the statuses meaning "no such record". Default [404].
	NotFound []int `yaml:"not_found"`
	// Answer is an optional text/template over the mapped fields, rendered into
	// Result.Answer (e.g. the bot's reply to "where is my order").
	Answer string `yaml:"answer"`
}

// Secret is a configuration value that must not be printed: its String, GoString,
// LogValue and YAML forms are "[redacted]".
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string               { return s.mask() }
func (s Secret) GoString() string             { return fmt.Sprintf("%q", s.mask()) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(s.mask()) }
func (s Secret) MarshalYAML() (any, error)    { return s.mask(), nil }
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.mask()), nil }

func (s Secret) mask() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Defaults of a Config.
const (
	DefaultTimeout      = 3 * time.Second
	DefaultRetries      = 2
	DefaultRetryBackoff = 100 * time.Millisecond
	DefaultCacheTTL     = 5 * time.Minute
	DefaultCacheSize    = 1000
	DefaultFailures     = 5
	DefaultOpenFor      = 30 * time.Second
)

// withDefaults returns c with zero values replaced by the defaults; negative
// Retries/CacheTTL/Failures stay negative (off).
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Timeout, DefaultTimeout)
	def(&c.RetryBackoff, DefaultRetryBackoff)
	def(&c.CacheTTL, DefaultCacheTTL)
	def(&c.Breaker.OpenFor, DefaultOpenFor)
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Breaker.Failures == 0 {
		c.Breaker.Failures = DefaultFailures
	}
	if c.Auth.Type == "" {
		c.Auth.Type = AuthNone
	}
	return c
}

// ParseYAML decodes the connectors of a YAML document whose top-level key is
// `connectors:` (name → Config), strictly: an unknown key is an error naming its line.
// Each Config's Name defaults to its key. It does not validate; New does.
func ParseYAML(data []byte) (map[string]Config, error) {
	var doc struct {
		Connectors map[string]Config `yaml:"connectors"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Connectors)) {
		c := doc.Connectors[name]
		if c.Name == "" {
			c.Name = name
			doc.Connectors[name] = c
		}
	}
	return doc.Connectors, nil
}
