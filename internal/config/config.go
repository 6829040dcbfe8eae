package config

import (
	"cmp"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/switchboard-cs/switchboard/internal/tracing"
)

// Config is the whole configuration of one Switchboard process. Each leaf field carries
// its YAML key (`yaml`) and its environment variable (`env`); docs/configuration.md
// documents every one of them.
type Config struct {
	DataDir  string         `yaml:"data_dir" env:"SWITCHBOARD_DATA_DIR"`
	HTTP     HTTPConfig     `yaml:"http"`
	Postgres PostgresConfig `yaml:"postgres"`
	Redis    RedisConfig    `yaml:"redis"`
	Auth     AuthConfig     `yaml:"auth"`
	Security SecurityConfig `yaml:"security"`
	Routing  RoutingConfig  `yaml:"routing"`
	Agents   AgentsConfig   `yaml:"agents"`
	SLA      SLAConfig      `yaml:"sla"`
	Archive  ArchiveConfig  `yaml:"archive"`
	Cache    CacheConfig    `yaml:"cache"`
	Limits   LimitsConfig   `yaml:"limits"`
	Queue    QueueConfig    `yaml:"queue"`
	KB       KBConfig       `yaml:"kb"`
	Models   ModelsConfig   `yaml:"models"`
	Vision   VisionConfig   `yaml:"vision"`
	Speech   SpeechConfig   `yaml:"speech"`
	LLM      LLMConfig      `yaml:"llm"`
	PII      PIIConfig      `yaml:"pii"`
	Channels ChannelsConfig `yaml:"channels"`
	Log      LogConfig      `yaml:"log"`
	Runtime  RuntimeConfig  `yaml:"runtime"`
	Quality  QualityConfig  `yaml:"quality"`
	// Connectors and Webhooks join Switchboard to the company's own systems: its CRM
	// and ERP asked through connectors, and signed events sent to its endpoints.
	Connectors ConnectorsConfig `yaml:"connectors"`
	Webhooks   WebhooksConfig   `yaml:"webhooks"`

	// Audit and Retention configure the audit chain's anchors and retention, and how
	// long personal data is kept.
	Audit     AuditConfig     `yaml:"audit"`
	Retention RetentionConfig `yaml:"retention"`
}

// HTTPConfig configures the HTTP listener of the gateway.
type HTTPConfig struct {
	Addr            string        `yaml:"addr" env:"SWITCHBOARD_HTTP_ADDR"`
	MaxBodyBytes    int64         `yaml:"max_body_bytes" env:"SWITCHBOARD_HTTP_MAX_BODY_BYTES"`
	ReadTimeout     time.Duration `yaml:"read_timeout" env:"SWITCHBOARD_HTTP_READ_TIMEOUT"`
	WriteTimeout    time.Duration `yaml:"write_timeout" env:"SWITCHBOARD_HTTP_WRITE_TIMEOUT"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"SWITCHBOARD_HTTP_SHUTDOWN_TIMEOUT"`
	TLSCertFile     string        `yaml:"tls_cert_file" env:"SWITCHBOARD_HTTP_TLS_CERT_FILE"`
	TLSKeyFile      string        `yaml:"tls_key_file" env:"SWITCHBOARD_HTTP_TLS_KEY_FILE"`
	TrustedProxies  []string      `yaml:"trusted_proxies" env:"SWITCHBOARD_HTTP_TRUSTED_PROXIES"`
	AllowedOrigins  []string      `yaml:"allowed_origins" env:"SWITCHBOARD_HTTP_ALLOWED_ORIGINS"`
	// AdminAddr, when set, serves /metrics, /healthz and /readyz on a listener of their
	// own, and /metrics no longer on Addr.
	AdminAddr string `yaml:"admin_addr" env:"SWITCHBOARD_HTTP_ADMIN_ADDR"`
	// HSTS sends Strict-Transport-Security without TLS here (a proxy terminates it).
	HSTS bool `yaml:"hsts" env:"SWITCHBOARD_HTTP_HSTS"`
	// RequestTimeout bounds an API request (not WebSockets or uploads).
	RequestTimeout time.Duration `yaml:"request_timeout" env:"SWITCHBOARD_HTTP_REQUEST_TIMEOUT"`
}

// TLSEnabled reports whether both a certificate and a key file are configured.
func (h HTTPConfig) TLSEnabled() bool { return h.TLSCertFile != "" && h.TLSKeyFile != "" }

// PostgresConfig configures the PostgreSQL pools. An empty DSN selects the embedded
// PostgreSQL started by the binary.
type PostgresConfig struct {
	DSN         string `yaml:"dsn" env:"SWITCHBOARD_PG_DSN"`
	ReplicaDSN  string `yaml:"replica_dsn" env:"SWITCHBOARD_PG_REPLICA_DSN"`
	MaxConns    int32  `yaml:"max_conns" env:"SWITCHBOARD_PG_MAX_CONNS"`
	EmbeddedDir string `yaml:"embedded_dir" env:"SWITCHBOARD_PG_EMBEDDED_DIR"`
	// StatementTimeout and LockTimeout are set on every connection (0: no limit).
	StatementTimeout time.Duration `yaml:"statement_timeout" env:"SWITCHBOARD_PG_STATEMENT_TIMEOUT"`
	LockTimeout      time.Duration `yaml:"lock_timeout" env:"SWITCHBOARD_PG_LOCK_TIMEOUT"`

	// OwnerDSN, when set, runs the migrations (as the tables' owner); DSN is then the
	// application's role, which is granted what it needs and owns nothing.
	OwnerDSN string `yaml:"owner_dsn" env:"SWITCHBOARD_PG_OWNER_DSN"`
}

// RedisConfig configures the Redis client. With neither Addr nor ClusterAddrs set, an
// in-process miniredis is used.
type RedisConfig struct {
	Addr         string   `yaml:"addr" env:"SWITCHBOARD_REDIS_ADDR"`
	ClusterAddrs []string `yaml:"cluster_addrs" env:"SWITCHBOARD_REDIS_CLUSTER_ADDRS"`
	Password     string   `yaml:"password" env:"SWITCHBOARD_REDIS_PASSWORD"`
	DB           int      `yaml:"db" env:"SWITCHBOARD_REDIS_DB"`
	KeyPrefix    string   `yaml:"key_prefix" env:"SWITCHBOARD_REDIS_KEY_PREFIX"`
}

// AuthConfig configures token issuing and verification. An empty JWTSecret means a
// secret is generated once and persisted under the data directory.
type AuthConfig struct {
	JWTSecret string        `yaml:"jwt_secret" env:"SWITCHBOARD_JWT_SECRET"`
	JWKSFile  string        `yaml:"jwks_file" env:"SWITCHBOARD_AUTH_JWKS_FILE"`
	Issuer    string        `yaml:"issuer" env:"SWITCHBOARD_AUTH_ISSUER"`
	TokenTTL  time.Duration `yaml:"token_ttl" env:"SWITCHBOARD_AUTH_TOKEN_TTL"`
	// AnonymousChat lets the chat widget ask for a customer token for a new visitor.
	AnonymousChat bool `yaml:"anonymous_chat" env:"SWITCHBOARD_AUTH_ANONYMOUS_CHAT"`
	// Audience, when set, is written into issued tokens and required of every token.
	Audience string `yaml:"audience" env:"SWITCHBOARD_AUTH_AUDIENCE"`
	// MaxMintedTTL caps the lifetime of tokens minted with `switchboard token`.
	MaxMintedTTL time.Duration `yaml:"max_minted_ttl" env:"SWITCHBOARD_AUTH_MAX_MINTED_TTL"`
}

// SecurityConfig configures encryption at rest.
type SecurityConfig struct {
	KeyRingFile string `yaml:"key_ring_file" env:"SWITCHBOARD_SECURITY_KEY_RING_FILE"`
	// KeyRingKEK seals the key ring file (32 bytes as base64 or hex).
	KeyRingKEK string `yaml:"key_ring_kek" env:"SWITCHBOARD_KEYRING_KEK"`
}

// RoutingWeights are the weights of the routing score (docs/architecture.md, "Routing").
type RoutingWeights struct {
	VIP   float64 `yaml:"vip" env:"SWITCHBOARD_ROUTING_WEIGHT_VIP"`
	Skill float64 `yaml:"skill" env:"SWITCHBOARD_ROUTING_WEIGHT_SKILL"`
	Load  float64 `yaml:"load" env:"SWITCHBOARD_ROUTING_WEIGHT_LOAD"`
	Wait  float64 `yaml:"wait" env:"SWITCHBOARD_ROUTING_WEIGHT_WAIT"`
}

// RoutingConfig configures the ticket router.
type RoutingConfig struct {
	Weights      RoutingWeights `yaml:"weights"`
	VIPBoost     time.Duration  `yaml:"vip_boost" env:"SWITCHBOARD_ROUTING_VIP_BOOST"`
	AgingHorizon time.Duration  `yaml:"aging_horizon" env:"SWITCHBOARD_ROUTING_AGING_HORIZON"`
	// ReconcileInterval is how often the Redis routing state is compared with PostgreSQL
	// and repaired.
	ReconcileInterval time.Duration `yaml:"reconcile_interval" env:"SWITCHBOARD_ROUTING_RECONCILE_INTERVAL"`
	// ClaimOverflow is how many tickets beyond their capacity an agent may take by claiming.
	ClaimOverflow int `yaml:"claim_overflow" env:"SWITCHBOARD_ROUTING_CLAIM_OVERFLOW"`
	// IntentSkills are the intents that always go to a human, each with the skills its
	// ticket needs (the skill groups that may take it).
	IntentSkills map[string][]string `yaml:"intent_skills" env:"SWITCHBOARD_ROUTING_INTENT_SKILLS"`
}

// AgentsConfig configures agent presence and what agents send customers.
type AgentsConfig struct {
	// PresenceTTL: an agent with no heartbeat (console socket or REST) for this long is
	// set offline.
	PresenceTTL time.Duration `yaml:"presence_ttl" env:"SWITCHBOARD_AGENTS_PRESENCE_TTL"`
	// MaxAttachmentBytes is the largest file or image an agent sends a customer.
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes" env:"SWITCHBOARD_AGENTS_MAX_ATTACHMENT_BYTES"`
}

// SLAConfig configures the SLA watcher.
type SLAConfig struct {
	CheckInterval time.Duration `yaml:"check_interval" env:"SWITCHBOARD_SLA_CHECK_INTERVAL"`
	// AtRiskFraction marks a ticket at risk when less than this fraction of its SLA
	// window remains.
	AtRiskFraction float64 `yaml:"at_risk_fraction" env:"SWITCHBOARD_SLA_AT_RISK_FRACTION"`
}

// ArchiveConfig configures archiving of closed tickets.
type ArchiveConfig struct {
	After    time.Duration `yaml:"after" env:"SWITCHBOARD_ARCHIVE_AFTER"`
	Interval time.Duration `yaml:"interval" env:"SWITCHBOARD_ARCHIVE_INTERVAL"`
}

// AuditConfig configures the audit log's anchors outside PostgreSQL and its retention.
type AuditConfig struct {
	Retention      time.Duration `yaml:"retention" env:"SWITCHBOARD_AUDIT_RETENTION"`
	AnchorInterval time.Duration `yaml:"anchor_interval" env:"SWITCHBOARD_AUDIT_ANCHOR_INTERVAL"`
	AnchorFile     string        `yaml:"anchor_file" env:"SWITCHBOARD_AUDIT_ANCHOR_FILE"`
	AnchorURL      string        `yaml:"anchor_url" env:"SWITCHBOARD_AUDIT_ANCHOR_URL"`
	AnchorCommand  string        `yaml:"anchor_command" env:"SWITCHBOARD_AUDIT_ANCHOR_COMMAND"`
}

// RetentionConfig says how long personal data is kept; 0 keeps it.
type RetentionConfig struct {
	Vault    time.Duration `yaml:"vault" env:"SWITCHBOARD_RETENTION_VAULT"`
	Queue    time.Duration `yaml:"queue" env:"SWITCHBOARD_RETENTION_QUEUE"`
	Archive  time.Duration `yaml:"archive" env:"SWITCHBOARD_RETENTION_ARCHIVE"`
	Media    time.Duration `yaml:"media" env:"SWITCHBOARD_RETENTION_MEDIA"`
	Interval time.Duration `yaml:"interval" env:"SWITCHBOARD_RETENTION_INTERVAL"`
}

// CacheConfig configures the cache-aside layer in front of PostgreSQL.
type CacheConfig struct {
	TicketTTL time.Duration `yaml:"ticket_ttl" env:"SWITCHBOARD_CACHE_TICKET_TTL"`
}

// LimitsConfig configures request rate limits, kept in Redis so they hold
// across replicas. 0 disables a limit.
type LimitsConfig struct {
	PerIPPerMinute       int `yaml:"per_ip_per_minute" env:"SWITCHBOARD_LIMITS_PER_IP_PER_MINUTE"`
	PerCustomerPerMinute int `yaml:"per_customer_per_minute" env:"SWITCHBOARD_LIMITS_PER_CUSTOMER_PER_MINUTE"`
	// What may run at once, per process (0 disables each).
	ConcurrentPerIP   int `yaml:"concurrent_per_ip" env:"SWITCHBOARD_LIMITS_CONCURRENT_PER_IP"`
	WebSocketsPerIP   int `yaml:"websockets_per_ip" env:"SWITCHBOARD_LIMITS_WEBSOCKETS_PER_IP"`
	WebSocketsPerUser int `yaml:"websockets_per_user" env:"SWITCHBOARD_LIMITS_WEBSOCKETS_PER_USER"`
	WebSocketsTotal   int `yaml:"websockets_total" env:"SWITCHBOARD_LIMITS_WEBSOCKETS_TOTAL"`
	// Console sign-in.
	LoginPerIPPerMinute   int `yaml:"login_per_ip_per_minute" env:"SWITCHBOARD_LIMITS_LOGIN_PER_IP_PER_MINUTE"`
	LoginPerUserPerMinute int `yaml:"login_per_user_per_minute" env:"SWITCHBOARD_LIMITS_LOGIN_PER_USER_PER_MINUTE"`
	LoginConcurrency      int `yaml:"login_concurrency" env:"SWITCHBOARD_LIMITS_LOGIN_CONCURRENCY"`
	// Memory of customer media in flight (0: a quarter of the process's memory limit).
	MediaMemoryBytes int64         `yaml:"media_memory_bytes" env:"SWITCHBOARD_LIMITS_MEDIA_MEMORY_BYTES"`
	MediaWait        time.Duration `yaml:"media_wait" env:"SWITCHBOARD_LIMITS_MEDIA_WAIT"`
}

// QueueConfig configures the durable turn queue's workers.
type QueueConfig struct {
	Workers     int           `yaml:"workers" env:"SWITCHBOARD_QUEUE_WORKERS"`
	Lease       time.Duration `yaml:"lease" env:"SWITCHBOARD_QUEUE_LEASE"`
	MaxAttempts int           `yaml:"max_attempts" env:"SWITCHBOARD_QUEUE_MAX_ATTEMPTS"`
	// RetryFor is how long a failing turn or reply is retried (jittered backoff from
	// 2s doubling to 10m) before it becomes a dead letter.
	RetryFor time.Duration `yaml:"retry_for" env:"SWITCHBOARD_QUEUE_RETRY_FOR"`
	// MaxAbandoned gives a row up after this many attempts that crashed or hung the worker.
	MaxAbandoned int `yaml:"max_abandoned" env:"SWITCHBOARD_QUEUE_MAX_ABANDONED"`
	// ShutdownGrace lets a worker's answer or send in progress finish this long after SIGTERM.
	ShutdownGrace time.Duration `yaml:"shutdown_grace" env:"SWITCHBOARD_QUEUE_SHUTDOWN_GRACE"`
	// An agent's original text on REST and web chat is held this long after the
	// customer's first read, and at most OriginalRetention unread.
	OriginalReadGrace time.Duration `yaml:"original_read_grace" env:"SWITCHBOARD_QUEUE_ORIGINAL_READ_GRACE"`
	OriginalRetention time.Duration `yaml:"original_retention" env:"SWITCHBOARD_QUEUE_ORIGINAL_RETENTION"`
}

// KBConfig configures the knowledge base and when the bot hands over.
type KBConfig struct {
	Dir           string  `yaml:"dir" env:"SWITCHBOARD_KB_DIR"`
	MinConfidence float64 `yaml:"min_confidence" env:"SWITCHBOARD_KB_MIN_CONFIDENCE"`
	// MinConfidenceByLanguage overrides MinConfidence for messages in a language ("zh",
	// "en"), each chosen by the same rule from `kb eval`'s sweeps.
	MinConfidenceByLanguage map[string]float64 `yaml:"min_confidence_by_language" env:"SWITCHBOARD_KB_MIN_CONFIDENCE_BY_LANGUAGE"`
	QdrantAddr              string             `yaml:"qdrant_addr" env:"SWITCHBOARD_QDRANT_ADDR"`
	QdrantCollection        string             `yaml:"qdrant_collection" env:"SWITCHBOARD_QDRANT_COLLECTION"`
	QdrantAPIKey            string             `yaml:"qdrant_api_key" env:"SWITCHBOARD_QDRANT_API_KEY"`
	EncoderModel            string             `yaml:"encoder_model" env:"SWITCHBOARD_KB_ENCODER_MODEL"`
	EncoderTokenizer        string             `yaml:"encoder_tokenizer" env:"SWITCHBOARD_KB_ENCODER_TOKENIZER"`
	EncoderMaxTokens        int                `yaml:"encoder_max_tokens" env:"SWITCHBOARD_KB_ENCODER_MAX_TOKENS"`
	EncoderPooling          string             `yaml:"encoder_pooling" env:"SWITCHBOARD_KB_ENCODER_POOLING"`
	// ParaphraseModel is the paraphrase encoder `switchboard kb train` writes: used for
	// dense retrieval when the file exists and no encoder_model is set. Empty:
	// <data_dir>/paraphrase.bin; "off": never.
	ParaphraseModel string `yaml:"paraphrase_model" env:"SWITCHBOARD_KB_PARAPHRASE_MODEL"`

	// ReloadInterval is how often serve looks for a new knowledge-base generation.
	ReloadInterval time.Duration `yaml:"reload_interval" env:"SWITCHBOARD_KB_RELOAD_INTERVAL"`
}

// ModelsConfig configures the ONNX model runtime and the model repository.
type ModelsConfig struct {
	ONNXRuntimeLib string        `yaml:"onnxruntime_lib" env:"SWITCHBOARD_ORT_LIB"`
	Dir            string        `yaml:"dir" env:"SWITCHBOARD_MODELS_DIR"`
	WatchInterval  time.Duration `yaml:"watch_interval" env:"SWITCHBOARD_MODELS_WATCH_INTERVAL"`
	IntraOpThreads int           `yaml:"intra_op_threads" env:"SWITCHBOARD_MODELS_INTRA_OP_THREADS"`
	InterOpThreads int           `yaml:"inter_op_threads" env:"SWITCHBOARD_MODELS_INTER_OP_THREADS"`
	Concurrency    int           `yaml:"concurrency" env:"SWITCHBOARD_MODELS_CONCURRENCY"`
	Spin           bool          `yaml:"spin" env:"SWITCHBOARD_MODELS_SPIN"`
}

// VisionConfig configures the vision stage (customer photos).
type VisionConfig struct {
	Model          string `yaml:"model" env:"SWITCHBOARD_VISION_MODEL"`
	TopK           int    `yaml:"top_k" env:"SWITCHBOARD_VISION_TOP_K"`
	MaxBytes       int64  `yaml:"max_bytes" env:"SWITCHBOARD_VISION_MAX_BYTES"`
	MaxPixels      int64  `yaml:"max_pixels" env:"SWITCHBOARD_VISION_MAX_PIXELS"`
	CategoriesFile string `yaml:"categories_file" env:"SWITCHBOARD_VISION_CATEGORIES_FILE"`
}

// SpeechConfig configures speech recognition: voice notes in the pipeline and the live
// streaming endpoint.
type SpeechConfig struct {
	// Engines are "language:engine" pairs (engine pocketsphinx or vosk); the first
	// language is the default one of voice notes unless Language says otherwise.
	Engines           []string      `yaml:"engines" env:"SWITCHBOARD_SPEECH_ENGINES"`
	Language          string        `yaml:"language" env:"SWITCHBOARD_SPEECH_LANGUAGE"`
	PocketSphinxModel string        `yaml:"pocketsphinx_model" env:"SWITCHBOARD_SPEECH_POCKETSPHINX_MODEL"`
	VoskModels        []string      `yaml:"vosk_models" env:"SWITCHBOARD_SPEECH_VOSK_MODELS"`
	VoskLib           string        `yaml:"vosk_lib" env:"SWITCHBOARD_VOSK_LIB"`
	PhrasesFile       string        `yaml:"phrases_file" env:"SWITCHBOARD_SPEECH_PHRASES_FILE"`
	PoolSize          int           `yaml:"pool_size" env:"SWITCHBOARD_SPEECH_POOL_SIZE"`
	Queue             int           `yaml:"queue" env:"SWITCHBOARD_SPEECH_QUEUE"`
	QueueWait         time.Duration `yaml:"queue_wait" env:"SWITCHBOARD_SPEECH_QUEUE_WAIT"`
	InlineMax         time.Duration `yaml:"inline_max" env:"SWITCHBOARD_SPEECH_INLINE_MAX"`
	MaxDuration       time.Duration `yaml:"max_duration" env:"SWITCHBOARD_SPEECH_MAX_DURATION"`
	MaxBytes          int64         `yaml:"max_bytes" env:"SWITCHBOARD_SPEECH_MAX_BYTES"`
	// Recognizers kept for voice notes (live streams never get them), and live streams
	// per client IP.
	ReservedForNotes int `yaml:"reserved_for_notes" env:"SWITCHBOARD_SPEECH_RESERVED_FOR_NOTES"`
	StreamsPerIP     int `yaml:"streams_per_ip" env:"SWITCHBOARD_SPEECH_STREAMS_PER_IP"`
}

// ModelsDir is the model repository: models.dir, or <data_dir>/models.
func (c Config) ModelsDir() string {
	if c.Models.Dir != "" {
		return c.Models.Dir
	}
	return filepath.Join(c.DataDir, "models")
}

// ParaphraseModel is the paraphrase encoder's file: kb.paraphrase_model, or
// <data_dir>/paraphrase.bin; "" when it is "off".
func (c Config) ParaphraseModel() string {
	return c.modelFile(c.KB.ParaphraseModel, "paraphrase.bin")
}

// modelFile is a model's file setting: "" when it is "off", <data_dir>/name when empty.
func (c Config) modelFile(setting, name string) string {
	switch setting {
	case "off":
		return ""
	case "":
		return filepath.Join(c.DataDir, name)
	}
	return setting
}

// SentimentModel is the sentiment model's file: quality.sentiment_model, or
// <data_dir>/sentiment.bin; "" when it is "off".
func (c Config) SentimentModel() string {
	return c.modelFile(c.Quality.SentimentModel, "sentiment.bin")
}

// PIITaggerModel is the name and address tagger's file: pii.tagger_model, or
// <data_dir>/pii-tagger.bin; "" when it is "off".
func (c Config) PIITaggerModel() string {
	return c.modelFile(c.PII.TaggerModel, "pii-tagger.bin")
}

// RerankerModel is the path of the Chinese reranker `kb train` fits beside the
// paraphrase model (its name with ".zh-rerank" before the extension), or "" when the
// paraphrase model is off.
func (c Config) RerankerModel() string {
	p := c.ParaphraseModel()
	if p == "" {
		return ""
	}
	ext := filepath.Ext(p)
	return strings.TrimSuffix(p, ext) + ".zh-rerank" + cmp.Or(ext, ".bin")
}

// KBDir is the embedded index directory: kb.dir, or <data_dir>/kb.
func (c Config) KBDir() string {
	if c.KB.Dir != "" {
		return c.KB.Dir
	}
	return filepath.Join(c.DataDir, "kb")
}

// LLMConfig configures the optional language model that writes answers
// from the retrieved passages (any OpenAI-compatible endpoint). Empty
// base_url: answers are composed from the passages alone.
type LLMConfig struct {
	BaseURL string `yaml:"base_url" env:"SWITCHBOARD_LLM_BASE_URL"`
	Model   string `yaml:"model" env:"SWITCHBOARD_LLM_MODEL"`
	APIKey  string `yaml:"api_key" env:"SWITCHBOARD_LLM_API_KEY"`

	// Timeout bounds one call to the endpoint; BreakerFailures consecutive failures
	// open the circuit for BreakerCooldown (answers then come from the passages).
	Timeout         time.Duration `yaml:"timeout" env:"SWITCHBOARD_LLM_TIMEOUT"`
	BreakerFailures int           `yaml:"breaker_failures" env:"SWITCHBOARD_LLM_BREAKER_FAILURES"`
	BreakerCooldown time.Duration `yaml:"breaker_cooldown" env:"SWITCHBOARD_LLM_BREAKER_COOLDOWN"`
}

// ChannelsConfig configures the bot channels. A channel without its
// secret is off (its webhook answers 404).
type ChannelsConfig struct {
	// ConversationIdle: a webhook channel's messages continue the customer's conversation
	// on the same chat or thread until it has been this long silent with no open ticket.
	ConversationIdle time.Duration  `yaml:"conversation_idle" env:"SWITCHBOARD_CHANNELS_CONVERSATION_IDLE"`
	Telegram         TelegramConfig `yaml:"telegram"`
	Slack            SlackConfig    `yaml:"slack"`
	Webhook          WebhookConfig  `yaml:"webhook"`
	WeCom            WeComConfig    `yaml:"wecom"`
	// Plugins configure channels without a section of their own here: the settings of
	// channel <name> are plugins.<name>.<key> (gateway/channel.Settings).
	Plugins map[string]map[string]string `yaml:"plugins" env:"SWITCHBOARD_CHANNELS_PLUGINS"`
}

// Settings are every channel's settings by channel name: the keys of the sections above
// (channels.telegram.bot_token is Settings()["telegram"]["bot_token"]) and of plugins.
func (c ChannelsConfig) Settings() map[string]map[string]string {
	out := map[string]map[string]string{}
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type.Kind() != reflect.Struct {
			continue
		}
		section := map[string]string{}
		for j := range f.Type.NumField() {
			if sf := f.Type.Field(j); sf.Type.Kind() == reflect.String {
				section[yamlName(sf)] = v.Field(i).Field(j).String()
			}
		}
		out[yamlName(f)] = section
	}
	for name, settings := range c.Plugins {
		if out[name] == nil {
			out[name] = map[string]string{}
		}
		for k, val := range settings {
			out[name][k] = val
		}
	}
	return out
}

// WeComConfig configures the WeCom (企业微信) self-built app channel.
type WeComConfig struct {
	CorpID         string `yaml:"corp_id" env:"SWITCHBOARD_WECOM_CORP_ID"`
	AgentID        string `yaml:"agent_id" env:"SWITCHBOARD_WECOM_AGENT_ID"`
	Secret         string `yaml:"secret" env:"SWITCHBOARD_WECOM_SECRET"`
	Token          string `yaml:"token" env:"SWITCHBOARD_WECOM_TOKEN"`
	EncodingAESKey string `yaml:"encoding_aes_key" env:"SWITCHBOARD_WECOM_ENCODING_AES_KEY"`
	APIBase        string `yaml:"api_base" env:"SWITCHBOARD_WECOM_API_BASE"`
}

// TelegramConfig configures the Telegram Bot API channel.
type TelegramConfig struct {
	BotToken    string `yaml:"bot_token" env:"SWITCHBOARD_TELEGRAM_BOT_TOKEN"`
	SecretToken string `yaml:"secret_token" env:"SWITCHBOARD_TELEGRAM_SECRET_TOKEN"`
	APIBase     string `yaml:"api_base" env:"SWITCHBOARD_TELEGRAM_API_BASE"`
}

// SlackConfig configures the Slack Events API channel.
type SlackConfig struct {
	SigningSecret string `yaml:"signing_secret" env:"SWITCHBOARD_SLACK_SIGNING_SECRET"`
	BotToken      string `yaml:"bot_token" env:"SWITCHBOARD_SLACK_BOT_TOKEN"`
	APIBase       string `yaml:"api_base" env:"SWITCHBOARD_SLACK_API_BASE"`
}

// WebhookConfig configures the generic HMAC-signed JSON webhook channel.
type WebhookConfig struct {
	Secret      string `yaml:"secret" env:"SWITCHBOARD_WEBHOOK_SECRET"`
	CallbackURL string `yaml:"callback_url" env:"SWITCHBOARD_WEBHOOK_CALLBACK_URL"`
}

// LogConfig configures the process logger.
type LogConfig struct {
	Level  string `yaml:"level" env:"SWITCHBOARD_LOG_LEVEL"`
	Format string `yaml:"format" env:"SWITCHBOARD_LOG_FORMAT"`
}

// QualityConfig configures the quality inspection of agents' replies.
type QualityConfig struct {
	// RulesFile is a YAML rule set (nlp/quality.ParseRuleSet: the default rules and
	// each skill group's); empty: the built-in rules everywhere.
	RulesFile string `yaml:"rules_file" env:"SWITCHBOARD_QUALITY_RULES_FILE"`
	// SentimentModel is the sentiment model `switchboard quality train` writes: it reads
	// the customer's mood over a resolved conversation and an agent's hostile replies.
	// Empty: <data_dir>/sentiment.bin when it exists; "off": never.
	SentimentModel string `yaml:"sentiment_model" env:"SWITCHBOARD_QUALITY_SENTIMENT_MODEL"`
}

// ConnectorsConfig configures the connectors to the company's CRM and ERP
// (internal/connector, docs/connectors.md).
type ConnectorsConfig struct {
	// File is a YAML file with a `connectors:` block: each connector's base URL, auth,
	// allowed identity fields, limits and operations. Empty: no connectors.
	File string `yaml:"file" env:"SWITCHBOARD_CONNECTORS_FILE"`
	// CustomerLookup names the connector whose lookup_customer operation looks up each
	// new conversation's customer (tier, name, tags, account, owner); empty: none.
	CustomerLookup string `yaml:"customer_lookup" env:"SWITCHBOARD_CONNECTORS_CUSTOMER_LOOKUP"`
	// Orders names the connector whose get_order operation answers customers' questions
	// about an order; empty: none.
	Orders string `yaml:"orders" env:"SWITCHBOARD_CONNECTORS_ORDERS"`
	// OrderAnswerEN/ZH and OrderNotFoundEN/ZH are the bot's answers (text/template over
	// the order's mapped fields and {{.id}}); empty: the built-in ones.
	OrderAnswerEN   string `yaml:"order_answer_en" env:"SWITCHBOARD_CONNECTORS_ORDER_ANSWER_EN"`
	OrderAnswerZH   string `yaml:"order_answer_zh" env:"SWITCHBOARD_CONNECTORS_ORDER_ANSWER_ZH"`
	OrderNotFoundEN string `yaml:"order_not_found_en" env:"SWITCHBOARD_CONNECTORS_ORDER_NOT_FOUND_EN"`
	OrderNotFoundZH string `yaml:"order_not_found_zh" env:"SWITCHBOARD_CONNECTORS_ORDER_NOT_FOUND_ZH"`
}

// WebhooksConfig configures the outbound, signed webhooks (tickets/webhooks).
type WebhooksConfig struct {
	// File is a YAML file with the endpoints (name, url, secret or secret_env, events,
	// timeout) and the delivery settings (max_attempts, backoff, poll_interval). Empty:
	// no webhooks are sent.
	File string `yaml:"file" env:"SWITCHBOARD_WEBHOOKS_FILE"`
}

// RuntimeConfig tunes the Go runtime of the process.
type RuntimeConfig struct {
	// GCPercent is the garbage collector's GOGC: a collection starts when the heap has
	// grown by this percentage of what the last one left live. The environment
	// variable GOGC, when set, wins; GOMEMLIMIT (a soft memory limit) is honoured too.
	GCPercent int `yaml:"gc_percent" env:"SWITCHBOARD_GC_PERCENT"`
}

// PIIConfig configures redaction.
type PIIConfig struct {
	// PhoneRegions are the regions (ISO 3166-1 alpha-2) whose national phone notation a
	// number written without a country code is read in, in order; empty: the built-in
	// list (China, Hong Kong, Taiwan, Singapore, the US, the UK, Australia, the larger
	// European countries, India, Japan, Korea, …). A customer's own region goes first
	// where the channel knows it.
	PhoneRegions []string `yaml:"phone_regions" env:"SWITCHBOARD_PII_PHONE_REGIONS"`
	// TaggerModel is the name and address tagger's file (see TaggerModel()); "off": the
	// cues alone find names and addresses.
	TaggerModel string `yaml:"tagger_model" env:"SWITCHBOARD_PII_TAGGER_MODEL"`
}

// Default returns the configuration used when neither a file nor the environment says
// otherwise: everything embedded, listening on :8080, data under ./data.
func Default() Config {
	return Config{
		DataDir: "./data",
		HTTP: HTTPConfig{
			Addr:            ":8080",
			MaxBodyBytes:    1 << 20,
			ReadTimeout:     15 * time.Second,
			WriteTimeout:    30 * time.Second,
			ShutdownTimeout: 15 * time.Second,
			RequestTimeout:  25 * time.Second,
		},
		Postgres: PostgresConfig{MaxConns: 10, StatementTimeout: 30 * time.Second, LockTimeout: 10 * time.Second},
		Redis:    RedisConfig{KeyPrefix: "sb"},
		Auth:     AuthConfig{Issuer: "switchboard", TokenTTL: 12 * time.Hour, AnonymousChat: true, MaxMintedTTL: 24 * time.Hour},
		Routing: RoutingConfig{
			Weights:      RoutingWeights{VIP: 0.2, Skill: 0.4, Load: 0.3, Wait: 0.1},
			VIPBoost:     15 * time.Minute,
			AgingHorizon: 30 * time.Minute,

			ReconcileInterval: time.Minute, ClaimOverflow: 2,
		},
		Agents:  AgentsConfig{PresenceTTL: time.Minute, MaxAttachmentBytes: 10 << 20},
		SLA:     SLAConfig{CheckInterval: 30 * time.Second, AtRiskFraction: 0.2},
		Archive: ArchiveConfig{After: 180 * 24 * time.Hour, Interval: time.Hour},
		Cache:   CacheConfig{TicketTTL: 5 * time.Minute},
		Limits:  LimitsConfig{PerIPPerMinute: 600, PerCustomerPerMinute: 60, ConcurrentPerIP: 16, WebSocketsPerIP: 32, WebSocketsPerUser: 8, WebSocketsTotal: 10000, LoginPerIPPerMinute: 10, LoginPerUserPerMinute: 10, MediaWait: 10 * time.Second},
		Queue:   QueueConfig{Workers: 4, Lease: time.Minute, RetryFor: 24 * time.Hour, MaxAbandoned: 3, ShutdownGrace: 10 * time.Second, OriginalReadGrace: 10 * time.Minute, OriginalRetention: 7 * 24 * time.Hour},
		KB: KBConfig{MinConfidence: 0.35, MinConfidenceByLanguage: map[string]float64{"zh": 0.25}, QdrantCollection: "switchboard_kb",
			EncoderMaxTokens: 256, EncoderPooling: "mean", ReloadInterval: 2 * time.Second},
		LLM:    LLMConfig{Timeout: 20 * time.Second, BreakerFailures: 5, BreakerCooldown: 30 * time.Second},
		Models: ModelsConfig{WatchInterval: 5 * time.Second},
		Vision: VisionConfig{TopK: 5, MaxBytes: 20 << 20, MaxPixels: 24_000_000},
		Speech: SpeechConfig{Engines: []string{"en:pocketsphinx"}, PoolSize: 2, Queue: 16, QueueWait: 10 * time.Second,
			InlineMax: 20 * time.Second, MaxDuration: 10 * time.Minute, MaxBytes: 25 << 20, ReservedForNotes: 1, StreamsPerIP: 2},
		Channels: ChannelsConfig{ConversationIdle: 24 * time.Hour,
			Telegram: TelegramConfig{APIBase: "https://api.telegram.org"},
			Slack:    SlackConfig{APIBase: "https://slack.com/api"},
			WeCom:    WeComConfig{APIBase: "https://qyapi.weixin.qq.com"},
		},
		Log: LogConfig{Level: "info", Format: "text"},
		// Go's default is 100. Each collection's marking slows every turn in flight on a
		// 2-core machine (bench turn: at 1,000 turns/s nearly all turns above 25 ms
		// started within 80 ms of a collection); 400 makes them a quarter as frequent
		// for a heap about 2.5 times larger (a few tens of MB).
		Runtime: RuntimeConfig{GCPercent: 400},

		Audit: AuditConfig{Retention: 365 * 24 * time.Hour, AnchorInterval: time.Hour},
		Retention: RetentionConfig{Vault: 90 * 24 * time.Hour, Queue: 30 * 24 * time.Hour, Archive: 730 * 24 * time.Hour,
			Media: 24 * time.Hour, Interval: time.Hour},
	}
}

// PGEmbeddedDir is the data directory of the embedded PostgreSQL: postgres.embedded_dir,
// or <data_dir>/pg when that is empty.
func (c Config) PGEmbeddedDir() string {
	if c.Postgres.EmbeddedDir != "" {
		return c.Postgres.EmbeddedDir
	}
	return filepath.Join(c.DataDir, "pg")
}

// KeyRingPath is the key ring file: security.key_ring_file, or <data_dir>/keyring.json
// when that is empty.
func (c Config) KeyRingPath() string {
	if c.Security.KeyRingFile != "" {
		return c.Security.KeyRingFile
	}
	return filepath.Join(c.DataDir, "keyring.json")
}

// AuditAnchorFile is the append-only file of audit anchors: audit.anchor_file, or
// <data_dir>/audit-anchors.jsonl when that is empty.
func (c Config) AuditAnchorFile() string {
	if c.Audit.AnchorFile != "" {
		return c.Audit.AnchorFile
	}
	return filepath.Join(c.DataDir, "audit-anchors.jsonl")
}

// Logger builds the process logger writing to w with the configured level and format.
// Values that Validate would reject fall back to info and text. A record logged with a
// context that holds a trace span (a turn's, a stage's, a request's) carries its trace_id
// and span_id.
func (c Config) Logger(w io.Writer) *slog.Logger {
	level, ok := parseLevel(c.Log.Level)
	if !ok {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.Log.Format, "json") {
		return slog.New(tracing.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(tracing.LogHandler(slog.NewTextHandler(w, opts)))
}

// parseLevel accepts exactly debug, info, warn and error (any case).
func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, true
	case "info":
		return slog.LevelInfo, true
	case "warn":
		return slog.LevelWarn, true
	case "error":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}
