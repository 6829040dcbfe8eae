package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
)

// ValidationError lists every problem Validate found, each as "key: what to fix".
type ValidationError struct {
	Problems []string
}

// Error joins the problems into one message.
func (e *ValidationError) Error() string {
	return ErrInvalid.Error() + ": " + strings.Join(e.Problems, "; ")
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// problems collects validation messages in a fixed order.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p *problems) positive(key string, d time.Duration) {
	if d <= 0 {
		p.addf("%s: must be > 0 (got %s)", key, d)
	}
}

func (p *problems) nonEmpty(key, v string) {
	if strings.TrimSpace(v) == "" {
		p.addf("%s: must not be empty", key)
	}
}

func (p *problems) hostPort(key, v string) {
	if _, _, err := net.SplitHostPort(v); err != nil {
		p.addf("%s: want host:port such as \"127.0.0.1:6379\" or \":8080\" (got %q)", key, v)
	}
}

// Validate checks every value and reports all problems at once as a *ValidationError
// (which wraps ErrInvalid); it returns nil for a usable configuration.
func (c Config) Validate() error {
	var p problems
	p.nonEmpty("data_dir", c.DataDir)
	c.HTTP.validate(&p)
	c.Postgres.validate(&p)
	c.Redis.validate(&p)
	c.Auth.validate(&p)
	c.Routing.validate(&p)
	if c.Agents.PresenceTTL < 3*time.Second {
		p.addf("agents.presence_ttl: must be ≥ 3s (got %s)", c.Agents.PresenceTTL)
	}
	if n := c.Agents.MaxAttachmentBytes; n < 1 || n > 64<<20 {
		p.addf("agents.max_attachment_bytes: must be 1 to 67108864 (64 MiB) (got %d)", n)
	}
	p.positive("sla.check_interval", c.SLA.CheckInterval)
	if f := c.SLA.AtRiskFraction; !(f > 0 && f < 1) {
		p.addf("sla.at_risk_fraction: must be > 0 and < 1 (got %g)", f)
	}
	if c.Archive.After < 24*time.Hour {
		p.addf("archive.after: must be ≥ 24h (got %s)", c.Archive.After)
	}
	p.positive("archive.interval", c.Archive.Interval)
	c.validateRetention(&p)
	if c.Security.KeyRingKEK != "" {
		if _, err := fieldcrypt.ParseKEK(c.Security.KeyRingKEK); err != nil {
			p.addf("security.key_ring_kek: must be 32 bytes as base64 or 64 hex digits (for example `openssl rand -base64 32`)")
		}
	}
	p.positive("cache.ticket_ttl", c.Cache.TicketTTL)
	if c.Queue.Workers < 1 || c.Queue.MaxAttempts < 0 || c.Queue.MaxAbandoned < 1 {
		p.addf("queue: workers and max_abandoned must be ≥ 1 and max_attempts ≥ 0 (got %d, %d and %d)", c.Queue.Workers, c.Queue.MaxAbandoned, c.Queue.MaxAttempts)
	}
	p.positive("queue.lease", c.Queue.Lease)
	p.positive("queue.retry_for", c.Queue.RetryFor)
	p.positive("queue.shutdown_grace", c.Queue.ShutdownGrace)
	p.positive("queue.original_read_grace", c.Queue.OriginalReadGrace)
	p.positive("queue.original_retention", c.Queue.OriginalRetention)
	p.positive("channels.conversation_idle", c.Channels.ConversationIdle)
	if f := c.KB.MinConfidence; f < 0 || f > 1 {
		p.addf("kb.min_confidence: must be between 0 and 1 (got %g)", f)
	}
	for _, lang := range slices.Sorted(maps.Keys(c.KB.MinConfidenceByLanguage)) {
		if f := c.KB.MinConfidenceByLanguage[lang]; lang == "" || f < 0 || f > 1 {
			p.addf("kb.min_confidence_by_language: %q: %g, want a language and a confidence between 0 and 1", lang, f)
		}
	}
	if (c.KB.EncoderModel == "") != (c.KB.EncoderTokenizer == "") {
		p.addf("kb.encoder_model and kb.encoder_tokenizer: set both or neither")
	}
	if c.KB.EncoderMaxTokens < 2 {
		p.addf("kb.encoder_max_tokens: must be ≥ 2 (got %d)", c.KB.EncoderMaxTokens)
	}
	if m := c.KB.EncoderPooling; m != "mean" && m != "cls" {
		p.addf("kb.encoder_pooling: must be mean or cls (got %q)", m)
	}
	p.positive("kb.reload_interval", c.KB.ReloadInterval)
	p.positive("llm.timeout", c.LLM.Timeout)
	p.positive("llm.breaker_cooldown", c.LLM.BreakerCooldown)
	if c.LLM.BreakerFailures < 1 {
		p.addf("llm.breaker_failures: must be ≥ 1 (got %d)", c.LLM.BreakerFailures)
	}
	p.positive("models.watch_interval", c.Models.WatchInterval)
	if c.Models.IntraOpThreads < 0 || c.Models.InterOpThreads < 0 || c.Models.Concurrency < 0 {
		p.addf("models: thread counts and concurrency must be ≥ 0, 0 means the default")
	}
	if c.Vision.TopK < 1 || c.Vision.MaxBytes < 1 || c.Vision.MaxPixels < 1 {
		p.addf("vision: top_k, max_bytes and max_pixels must be ≥ 1")
	}
	validateSpeech(&p, c.Speech)
	c.Limits.validate(&p)
	for _, reg := range c.PII.PhoneRegions {
		if !phonenumbers.GetSupportedRegions()[strings.ToUpper(strings.TrimSpace(reg))] {
			p.addf("pii.phone_regions: %q is not a region with phone numbers (want ISO 3166-1 alpha-2 such as \"HK\" or \"GB\")", reg)
		}
	}
	if c.Runtime.GCPercent < 25 || c.Runtime.GCPercent > 10000 {
		p.addf("runtime.gc_percent: must be between 25 and 10000 (got %d)", c.Runtime.GCPercent)
	}
	if _, ok := parseLevel(c.Log.Level); !ok {
		p.addf("log.level: must be one of debug, info, warn, error (got %q)", c.Log.Level)
	}
	if f := strings.ToLower(c.Log.Format); f != "text" && f != "json" {
		p.addf("log.format: must be text or json (got %q)", c.Log.Format)
	}
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

// minAuditRetention is the least time audit events are kept (docs/architecture.md, "Privacy and security").
const minAuditRetention = 180 * 24 * time.Hour

func (c Config) validateRetention(p *problems) {
	if r := c.Audit.Retention; r != 0 && r < minAuditRetention {
		p.addf("audit.retention: must be 0 (keep) or ≥ 4320h (180 days) (got %s)", r)
	}
	p.positive("audit.anchor_interval", c.Audit.AnchorInterval)
	r := c.Retention
	if r.Vault < 0 || r.Queue < 0 || r.Archive < 0 || r.Media < 0 {
		p.addf("retention: vault, queue, archive and media must be ≥ 0 (0 keeps)")
	}
	if r.Archive != 0 && r.Archive < c.Archive.After {
		p.addf("retention.archive: must be 0 (keep) or ≥ archive.after (%s) (got %s)", c.Archive.After, r.Archive)
	}
	p.positive("retention.interval", r.Interval)
}

func (h HTTPConfig) validate(p *problems) {
	if h.Addr == "" {
		p.addf("http.addr: must not be empty (for example \":8080\")")
	} else {
		p.hostPort("http.addr", h.Addr)
	}
	if h.MaxBodyBytes < 1 {
		p.addf("http.max_body_bytes: must be ≥ 1 (got %d)", h.MaxBodyBytes)
	}
	p.positive("http.read_timeout", h.ReadTimeout)
	p.positive("http.write_timeout", h.WriteTimeout)
	p.positive("http.shutdown_timeout", h.ShutdownTimeout)
	if h.TLSCertFile != "" && h.TLSKeyFile == "" {
		p.addf("http.tls_key_file: must be set when http.tls_cert_file is set")
	}
	if h.TLSKeyFile != "" && h.TLSCertFile == "" {
		p.addf("http.tls_cert_file: must be set when http.tls_key_file is set")
	}
	for _, o := range h.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			p.addf("http.allowed_origins: %q %v", o, err)
		}
	}
	if h.AdminAddr != "" {
		p.hostPort("http.admin_addr", h.AdminAddr)
		if h.AdminAddr == h.Addr {
			p.addf("http.admin_addr: must differ from http.addr (leave it empty to serve everything on http.addr)")
		}
	}
	if h.RequestTimeout <= 0 || h.RequestTimeout >= h.WriteTimeout {
		p.addf("http.request_timeout: must be > 0 and below http.write_timeout (%s), so the timeout answer can still be written (got %s)",
			h.WriteTimeout, h.RequestTimeout)
	}
}

// checkOrigin accepts a browser origin: http or https, a host, an optional port and
// nothing else (no path, query, user or wildcard), as browsers send it in Origin.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New(`must start with https:// or http:// (an origin such as "https://shop.example.com")`)
	case u.Host == "" || u.Hostname() == "" || strings.Contains(u.Host, "*"):
		return errors.New(`must name one host (an origin such as "https://shop.example.com"; wildcards are not allowed)`)
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return errors.New(`must be scheme://host[:port] only, with no path, query or user (as browsers send it in Origin)`)
	case strings.HasSuffix(o, "/"):
		return errors.New(`must not end with "/" (browsers send the origin without it)`)
	}
	return nil
}

func (pg PostgresConfig) validate(p *problems) {
	if pg.MaxConns < 1 {
		p.addf("postgres.max_conns: must be ≥ 1 (got %d)", pg.MaxConns)
	}
	if pg.OwnerDSN != "" && pg.DSN == "" {
		p.addf("postgres.owner_dsn: needs postgres.dsn too (the embedded PostgreSQL makes its own roles)")
	}
	if pg.ReplicaDSN != "" && pg.DSN == "" {
		p.addf("postgres.replica_dsn: needs postgres.dsn too (the embedded PostgreSQL has no replica)")
	}
	if pg.StatementTimeout < 0 || pg.LockTimeout < 0 {
		p.addf("postgres: statement_timeout and lock_timeout must be ≥ 0, 0 means no limit (got %s and %s)", pg.StatementTimeout, pg.LockTimeout)
	}
}

func (r RedisConfig) validate(p *problems) {
	if r.Addr != "" && len(r.ClusterAddrs) > 0 {
		p.addf("redis.addr: set either redis.addr or redis.cluster_addrs, not both")
	}
	if r.Addr != "" {
		p.hostPort("redis.addr", r.Addr)
	}
	for _, a := range r.ClusterAddrs {
		p.hostPort("redis.cluster_addrs", a)
	}
	if r.DB < 0 {
		p.addf("redis.db: must be ≥ 0 (got %d)", r.DB)
	}
	if r.DB != 0 && len(r.ClusterAddrs) > 0 {
		p.addf("redis.db: must be 0 with redis.cluster_addrs (Redis Cluster has only database 0; got %d)", r.DB)
	}
	if r.KeyPrefix == "" || strings.ContainsAny(r.KeyPrefix, "{} \t\r\n") {
		p.addf("redis.key_prefix: must be non-empty without braces or blanks (got %q)", r.KeyPrefix)
	}
}

func (a AuthConfig) validate(p *problems) {
	if a.JWTSecret != "" && len(a.JWTSecret) < 32 {
		p.addf("auth.jwt_secret: must be at least 32 bytes (got %d); leave it empty to have one generated", len(a.JWTSecret))
	}
	p.nonEmpty("auth.issuer", a.Issuer)
	p.positive("auth.token_ttl", a.TokenTTL)
	p.positive("auth.max_minted_ttl", a.MaxMintedTTL)
}

func (r RoutingConfig) validate(p *problems) {
	w := r.Weights
	named := []struct {
		key string
		v   float64
	}{{"vip", w.VIP}, {"skill", w.Skill}, {"load", w.Load}, {"wait", w.Wait}}
	sum := 0.0
	for _, n := range named {
		if !(n.v >= 0) || math.IsInf(n.v, 0) {
			p.addf("routing.weights.%s: must be a finite number ≥ 0 (got %g)", n.key, n.v)
			continue
		}
		sum += n.v
	}
	if sum <= 0 {
		p.addf("routing.weights: at least one weight must be > 0 (got sum %g)", sum)
	}
	if r.VIPBoost < 0 {
		p.addf("routing.vip_boost: must be ≥ 0 (got %s)", r.VIPBoost)
	}
	p.positive("routing.aging_horizon", r.AgingHorizon)
	p.positive("routing.reconcile_interval", r.ReconcileInterval)
	if r.ClaimOverflow < 0 || r.ClaimOverflow > 100 {
		p.addf("routing.claim_overflow: must be 0 to 100 (got %d)", r.ClaimOverflow)
	}
	for _, intent := range slices.Sorted(maps.Keys(r.IntentSkills)) {
		if strings.TrimSpace(intent) == "" {
			p.addf("routing.intent_skills: an empty intent name")
		}
		for _, skill := range r.IntentSkills[intent] {
			if strings.TrimSpace(skill) == "" {
				p.addf("routing.intent_skills.%s: an empty skill", intent)
			}
		}
	}
}

// SpeechEngines parses speech.engines into language → engine, in the configured order.
func (s SpeechConfig) SpeechEngines() (langs []string, engines map[string]string, err error) {
	engines = map[string]string{}
	for _, pair := range s.Engines {
		lang, eng, ok := strings.Cut(strings.TrimSpace(pair), ":")
		lang, eng = strings.TrimSpace(lang), strings.ToLower(strings.TrimSpace(eng))
		switch {
		case !ok || lang == "":
			return nil, nil, fmt.Errorf("speech.engines: %q is not language:engine", pair)
		case eng != "pocketsphinx" && eng != "vosk":
			return nil, nil, fmt.Errorf("speech.engines: %q: the engine must be pocketsphinx or vosk", pair)
		case engines[lang] != "":
			return nil, nil, fmt.Errorf("speech.engines: language %q is listed twice", lang)
		}
		engines[lang] = eng
		langs = append(langs, lang)
	}
	return langs, engines, nil
}

// VoskModelDirs parses speech.vosk_models into language → model folder.
func (s SpeechConfig) VoskModelDirs() (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range s.VoskModels {
		lang, dir, ok := strings.Cut(strings.TrimSpace(pair), ":")
		if !ok || strings.TrimSpace(lang) == "" || strings.TrimSpace(dir) == "" {
			return nil, fmt.Errorf("speech.vosk_models: %q is not language:folder", pair)
		}
		out[strings.TrimSpace(lang)] = strings.TrimSpace(dir)
	}
	return out, nil
}

func validateSpeech(p *problems, s SpeechConfig) {
	langs, engines, err := s.SpeechEngines()
	if err != nil {
		p.addf("%v", err)
	}
	vosk, err := s.VoskModelDirs()
	if err != nil {
		p.addf("%v", err)
	}
	for _, l := range langs {
		if engines[l] == "vosk" && vosk != nil && vosk[l] == "" {
			p.addf("speech.engines: %s uses vosk, but speech.vosk_models names no model folder for %s", l, l)
		}
	}
	if s.Language != "" && len(langs) > 0 && engines[s.Language] == "" {
		p.addf("speech.language: %q has no engine in speech.engines", s.Language)
	}
	if s.PoolSize < 1 || s.Queue < 0 || s.QueueWait < 0 || s.MaxDuration <= 0 || s.MaxBytes < 1 {
		p.addf("speech: pool_size and max_bytes must be ≥ 1, queue and queue_wait ≥ 0, max_duration > 0")
	}
	validateStreams(p, s)
}
