package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestLoadGoodFile(t *testing.T) {
	got, err := Load(filepath.Join("testdata", "good.yaml"), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		DataDir: "/var/lib/switchboard",
		HTTP: HTTPConfig{
			Addr: "0.0.0.0:8443", MaxBodyBytes: 2 << 20,
			ReadTimeout: 10 * time.Second, WriteTimeout: time.Minute, ShutdownTimeout: 20 * time.Second,
			TLSCertFile: "/etc/switchboard/tls.crt", TLSKeyFile: "/etc/switchboard/tls.key",
			RequestTimeout: 25 * time.Second,
		},
		Postgres: PostgresConfig{
			DSN:        "postgres://switchboard@db-primary:5432/switchboard",
			OwnerDSN:   "postgres://switchboard_owner@db-primary:5432/switchboard",
			ReplicaDSN: "postgres://switchboard@db-replica:5432/switchboard",
			MaxConns:   25, StatementTimeout: 30 * time.Second, LockTimeout: 10 * time.Second,
		},
		Redis: RedisConfig{
			ClusterAddrs: []string{"redis-0:6379", "redis-1:6379", "redis-2:6379"},
			Password:     "from-file", KeyPrefix: "prod",
		},
		Auth:     AuthConfig{JWKSFile: "/etc/switchboard/jwks.json", Issuer: "switchboard-prod", TokenTTL: 8 * time.Hour, AnonymousChat: true, Audience: "switchboard-api", MaxMintedTTL: 2 * time.Hour},
		Security: SecurityConfig{KeyRingFile: "/etc/switchboard/keyring.json"},
		Routing: RoutingConfig{
			Weights:  RoutingWeights{VIP: 0.3, Skill: 0.5, Load: 0.2, Wait: 0},
			VIPBoost: 20 * time.Minute, AgingHorizon: time.Hour,
			ReconcileInterval: time.Minute, ClaimOverflow: 2,
		},
		Agents:  AgentsConfig{PresenceTTL: time.Minute, MaxAttachmentBytes: 10 << 20},
		SLA:     SLAConfig{CheckInterval: 15 * time.Second, AtRiskFraction: 0.25},
		Archive: ArchiveConfig{After: 365 * 24 * time.Hour, Interval: 30 * time.Minute},
		Audit: AuditConfig{Retention: 400 * 24 * time.Hour, AnchorInterval: 10 * time.Minute,
			AnchorFile: "/var/log/switchboard/audit-anchors.jsonl", AnchorURL: "https://anchors.example.com/switchboard"},
		Retention: RetentionConfig{Vault: 30 * 24 * time.Hour, Queue: 30 * 24 * time.Hour, Archive: 0, Media: 24 * time.Hour, Interval: time.Hour},
		Cache:     CacheConfig{TicketTTL: 2 * time.Minute},
		Limits:    LimitsConfig{PerIPPerMinute: 600, PerCustomerPerMinute: 60, ConcurrentPerIP: 16, WebSocketsPerIP: 32, WebSocketsPerUser: 8, WebSocketsTotal: 10000, LoginPerIPPerMinute: 10, LoginPerUserPerMinute: 10, MediaWait: 10 * time.Second},
		Queue:     QueueConfig{Workers: 4, Lease: time.Minute, RetryFor: 24 * time.Hour, MaxAbandoned: 3, ShutdownGrace: 10 * time.Second, OriginalReadGrace: 10 * time.Minute, OriginalRetention: 7 * 24 * time.Hour},
		KB:        KBConfig{MinConfidence: 0.35, MinConfidenceByLanguage: map[string]float64{"zh": 0.25}, QdrantCollection: "switchboard_kb", EncoderMaxTokens: 256, EncoderPooling: "mean", ReloadInterval: 2 * time.Second},
		Models:    ModelsConfig{WatchInterval: 5 * time.Second},
		Vision:    VisionConfig{TopK: 5, MaxBytes: 20 << 20, MaxPixels: 24_000_000},
		Speech: SpeechConfig{Engines: []string{"en:pocketsphinx", "zh:vosk"}, Language: "zh", VoskModels: []string{"zh:/srv/vosk-model-small-cn-0.22"},
			PoolSize: 4, Queue: 16, QueueWait: 10 * time.Second, InlineMax: 30 * time.Second, MaxDuration: 10 * time.Minute, MaxBytes: 25 << 20,
			ReservedForNotes: 1, StreamsPerIP: 2},
		LLM: LLMConfig{Timeout: 20 * time.Second, BreakerFailures: 5, BreakerCooldown: 30 * time.Second},
		Channels: ChannelsConfig{ConversationIdle: 24 * time.Hour,
			Telegram: TelegramConfig{APIBase: "https://api.telegram.org"},
			Slack:    SlackConfig{APIBase: "https://slack.com/api"},
			WeCom:    WeComConfig{APIBase: "https://qyapi.weixin.qq.com"},
		},
		Log: LogConfig{Level: "debug", Format: "json"}, Runtime: RuntimeConfig{GCPercent: 200},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load(good.yaml) mismatch (-want +got):\n%s", diff)
	}
	if !got.HTTP.TLSEnabled() {
		t.Error("TLSEnabled() = false with both files set")
	}
}

func TestLoadEmptyFileAndNoFileGiveDefaults(t *testing.T) {
	for _, path := range []string{"", filepath.Join("testdata", "empty.yaml")} {
		got, err := Load(path, nil)
		if err != nil {
			t.Fatalf("Load(%q): %v", path, err)
		}
		if diff := cmp.Diff(Default(), got); diff != "" {
			t.Errorf("Load(%q) differs from Default() (-want +got):\n%s", path, diff)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings of the error
	}{
		{"unknown_key.yaml", []string{
			`line 4: unknown key "http.adress" (known keys in http: addr, `,
			`line 7: unknown key "loglevel" (known keys: `,
		}},
		{"wrong_type.yaml", []string{"line 2: cannot unmarshal !!str `ten` into int32", "line 4: cannot unmarshal !!str `5 minutes` into time.Duration"}},
		{"two_documents.yaml", []string{"line 2: only one YAML document is allowed"}},
		{"top_level_list.yaml", []string{"line 1: the top level must be a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			_, err := Load(path, nil)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load(%s) error = %v, want ErrInvalid", tt.file, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(absent) error = %v, want fs.ErrNotExist", err)
	}
}

// TestValidateGolden pins the full message for a file where every value is wrong.
func TestValidateGolden(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "bad_values.yaml"), nil)
	var verr *ValidationError
	if !errors.As(err, &verr) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load(bad_values.yaml) error = %v, want a *ValidationError wrapping ErrInvalid", err)
	}
	got := strings.Join(verr.Problems, "\n") + "\n"
	golden := filepath.Join("testdata", "bad_values.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("validation problems mismatch (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"max conns zero", func(c *Config) { c.Postgres.MaxConns = 0 }, []string{"postgres.max_conns: must be ≥ 1 (got 0)"}},
		{"gc percent too low", func(c *Config) { c.Runtime.GCPercent = 10 }, []string{"runtime.gc_percent: must be between 25 and 10000 (got 10)"}},
		{"archive too soon", func(c *Config) { c.Archive.After = 23 * time.Hour }, []string{"archive.after: must be ≥ 24h (got 23h0m0s)"}},
		{"archive exactly a day", func(c *Config) { c.Archive.After = 24 * time.Hour }, nil},
		{"all weights zero", func(c *Config) { c.Routing.Weights = RoutingWeights{} }, []string{"routing.weights: at least one weight must be > 0 (got sum 0)"}},
		{"one weight suffices", func(c *Config) { c.Routing.Weights = RoutingWeights{Wait: 1} }, nil},
		{"negative weight", func(c *Config) { c.Routing.Weights.Load = -0.1 }, []string{"routing.weights.load: must be a finite number ≥ 0 (got -0.1)"}},
		{"at risk fraction zero", func(c *Config) { c.SLA.AtRiskFraction = 0 }, []string{"sla.at_risk_fraction: must be > 0 and < 1 (got 0)"}},
		{"log level any case", func(c *Config) { c.Log.Level, c.Log.Format = "WARN", "JSON" }, nil},
		{"tls key only", func(c *Config) { c.HTTP.TLSKeyFile = "k.pem" }, []string{"http.tls_cert_file: must be set when http.tls_key_file is set"}},
		{"redis cluster", func(c *Config) { c.Redis.ClusterAddrs = []string{"a:1", "b"} }, []string{`redis.cluster_addrs: want host:port such as "127.0.0.1:6379" or ":8080" (got "b")`}},
		{"phone regions", func(c *Config) { c.PII.PhoneRegions = []string{"hk", " GB"} }, nil},
		{"unknown phone region", func(c *Config) { c.PII.PhoneRegions = []string{"HK", "XX"} },
			[]string{`pii.phone_regions: "XX" is not a region with phone numbers (want ISO 3166-1 alpha-2 such as "HK" or "GB")`}},
		{"long jwt secret", func(c *Config) { c.Auth.JWTSecret = strings.Repeat("s", 32) }, nil},
		{"short jwt secret", func(c *Config) { c.Auth.JWTSecret = strings.Repeat("s", 31) }, []string{"auth.jwt_secret: must be at least 32 bytes (got 31); leave it empty to have one generated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			var got []string
			if verr := (*ValidationError)(nil); errors.As(err, &verr) {
				got = verr.Problems
			} else if err != nil {
				t.Fatalf("Validate() = %v, not a *ValidationError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDerivedPaths(t *testing.T) {
	c := Default()
	c.DataDir = "/srv/sb"
	if got, want := c.PGEmbeddedDir(), filepath.Join("/srv/sb", "pg"); got != want {
		t.Errorf("PGEmbeddedDir() = %q, want %q", got, want)
	}
	if got, want := c.KeyRingPath(), filepath.Join("/srv/sb", "keyring.json"); got != want {
		t.Errorf("KeyRingPath() = %q, want %q", got, want)
	}
	c.Postgres.EmbeddedDir, c.Security.KeyRingFile = "/pg", "/keys/ring.json"
	if got := c.PGEmbeddedDir(); got != "/pg" {
		t.Errorf("PGEmbeddedDir() = %q, want /pg", got)
	}
	if got := c.KeyRingPath(); got != "/keys/ring.json" {
		t.Errorf("KeyRingPath() = %q, want /keys/ring.json", got)
	}
	for model, want := range map[string]string{"": "/srv/sb/paraphrase.zh-rerank.bin", "/m/para.model": "/m/para.zh-rerank.model",
		"/m/para": "/m/para.zh-rerank.bin", "off": ""} {
		c.KB.ParaphraseModel = model
		if got := c.RerankerModel(); got != want {
			t.Errorf("kb.paraphrase_model %q: RerankerModel() = %q, want %q", model, got, want)
		}
	}
}

func TestLogger(t *testing.T) {
	c := Default()
	c.Log = LogConfig{Level: "warn", Format: "json"}
	var buf bytes.Buffer
	log := c.Logger(&buf)
	log.Info("dropped")
	log.Warn("kept", "n", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("want exactly one JSON record, got %q: %v", buf.String(), err)
	}
	if rec["msg"] != "kept" || rec["level"] != "WARN" {
		t.Errorf("record = %v, want msg=kept level=WARN", rec)
	}

	buf.Reset()
	c.Log = LogConfig{Level: "debug", Format: "text"}
	c.Logger(&buf).Debug("hello")
	if !strings.Contains(buf.String(), "level=DEBUG msg=hello") {
		t.Errorf("text log = %q, want a DEBUG text line", buf.String())
	}
}

func TestSpeechEngines(t *testing.T) {
	for _, tt := range []struct {
		name    string
		mutate  func(*SpeechConfig)
		problem string // "" = valid
	}{
		{"default", func(*SpeechConfig) {}, ""},
		{"two languages", func(s *SpeechConfig) {
			s.Engines, s.VoskModels, s.Language = []string{"en:pocketsphinx", " zh : VOSK "}, []string{"zh:/m"}, "zh"
		}, ""},
		{"no colon", func(s *SpeechConfig) { s.Engines = []string{"pocketsphinx"} }, "is not language:engine"},
		{"unknown engine", func(s *SpeechConfig) { s.Engines = []string{"en:whisper"} }, "must be pocketsphinx or vosk"},
		{"twice", func(s *SpeechConfig) { s.Engines = []string{"en:pocketsphinx", "en:vosk"} }, "listed twice"},
		{"vosk without model", func(s *SpeechConfig) { s.Engines = []string{"zh:vosk"} }, "names no model folder"},
		{"bad model pair", func(s *SpeechConfig) { s.VoskModels = []string{"/m"} }, "is not language:folder"},
		{"language without engine", func(s *SpeechConfig) { s.Language = "fr" }, "has no engine"},
		{"pool", func(s *SpeechConfig) { s.PoolSize = 0 }, "pool_size"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c.Speech)
			err := c.Validate()
			switch {
			case tt.problem == "" && err != nil:
				t.Fatalf("unexpected: %v", err)
			case tt.problem != "" && (err == nil || !strings.Contains(err.Error(), tt.problem)):
				t.Fatalf("got %v, want a problem with %q", err, tt.problem)
			}
		})
	}
	langs, engines, err := SpeechConfig{Engines: []string{"en:pocketsphinx", "zh:vosk"}}.SpeechEngines()
	if err != nil || !cmp.Equal(langs, []string{"en", "zh"}) || !cmp.Equal(engines, map[string]string{"en": "pocketsphinx", "zh": "vosk"}) {
		t.Fatalf("SpeechEngines: %v %v %v", langs, engines, err)
	}
}
