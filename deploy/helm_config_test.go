package deploy_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-cs/switchboard/deploy"
	"github.com/switchboard-cs/switchboard/internal/config"
)

// sampleOverrides are values for keys whose default cannot simply be varied: lists and
// maps, and strings the server checks. Together with sampleValue they make a valid
// configuration in which every documented key differs from its default.
var sampleOverrides = map[string]any{
	"data_dir":                        "/srv/switchboard",
	"http.addr":                       "0.0.0.0:8080",
	"http.tls_cert_file":              "/etc/switchboard/tls/tls.crt",
	"http.tls_key_file":               "/etc/switchboard/tls/tls.key",
	"http.trusted_proxies":            []any{"10.0.0.0/8", "192.168.1.7"},
	"http.allowed_origins":            []any{"https://shop.example.com", "http://localhost:3000"},
	"http.admin_addr":                 ":9090",
	"http.request_timeout":            "20s",
	"postgres.dsn":                    "postgres://app:app-pw@db-primary:5432/switchboard?sslmode=require",
	"postgres.replica_dsn":            "postgres://app:app-pw@db-replica:5432/switchboard?sslmode=require",
	"postgres.owner_dsn":              "postgres://owner:owner-pw@db-primary:5432/switchboard?sslmode=require",
	"postgres.embedded_dir":           "/srv/pg",
	"redis.addr":                      "",
	"redis.cluster_addrs":             []any{"redis-0:6379", "redis-1:6379", "redis-2:6379"},
	"redis.db":                        0,
	"redis.key_prefix":                "support",
	"auth.jwt_secret":                 "0123456789abcdef0123456789abcdef-jwt",
	"auth.issuer":                     "support.example.com",
	"auth.audience":                   "support-api",
	"security.key_ring_kek":           "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
	"routing.intent_skills":           map[string]any{"lost_or_stolen_card": []any{"cards", "fraud"}},
	"kb.min_confidence_by_language":   map[string]any{"zh": 0.3, "en": 0.4},
	"kb.qdrant_addr":                  "qdrant:6334",
	"kb.encoder_pooling":              "cls",
	"kb.paraphrase_model":             "off",
	"speech.engines":                  []any{"en:pocketsphinx", "zh:vosk"},
	"speech.language":                 "zh",
	"speech.vosk_models":              []any{"zh:/srv/vosk-model-small-cn-0.22"},
	"speech.reserved_for_notes":       0,
	"llm.base_url":                    "http://llm.example.com:11434/v1",
	"pii.phone_regions":               []any{"CN", "US"},
	"pii.tagger_model":                "off",
	"channels.telegram.api_base":      "https://telegram.example.com",
	"channels.slack.api_base":         "https://slack.example.com/api",
	"channels.webhook.callback_url":   "https://crm.example.com/switchboard",
	"channels.wecom.api_base":         "https://wecom.example.com",
	"channels.wecom.encoding_aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
	"channels.plugins":                map[string]any{"line": map[string]any{"token": "line-token"}},
	"log.level":                       "debug",
	"log.format":                      "json",
	"audit.anchor_url":                "https://anchors.example.com/switchboard",
	"audit.anchor_command":            "logger -t audit",
	"models.onnxruntime_lib":          "/usr/lib/libonnxruntime.so.1.24.0",
	"vision.model":                    "resnet50",
	"limits.media_memory_bytes":       33554432,
}

// sameAsDefault are the keys whose sample keeps the default, and why.
var sameAsDefault = map[string]string{
	"redis.addr": "a standalone Redis excludes redis.cluster_addrs",
	"redis.db":   "must be 0 with a cluster",
}

// sampleValue is a value for k other than its default: flipped, grown or doubled, or
// from sampleOverrides.
func sampleValue(k docKey) any {
	if v, ok := sampleOverrides[k.Key]; ok {
		return v
	}
	switch {
	case k.Default == "true" || k.Default == "false":
		return k.Default != "true"
	case k.Default == "":
		return "sample-" + strings.ReplaceAll(k.Key, ".", "-")
	}
	if n, err := strconv.ParseInt(k.Default, 10, 64); err == nil {
		return n + 1
	}
	if f, err := strconv.ParseFloat(k.Default, 64); err == nil {
		return math.Round(f*0.8*1000) / 1000
	}
	if d, err := time.ParseDuration(k.Default); err == nil {
		return (2 * d).String()
	}
	return k.Default + "-sample"
}

// setPath puts v at the dotted key in the nested map m.
func setPath(m map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

// envString is how the documentation says a variable holds a value: lists
// comma-separated, maps as JSON.
func envString(t *testing.T, v any) string {
	switch v := v.(type) {
	case []any:
		var s []string
		for _, e := range v {
			s = append(s, fmt.Sprint(e))
		}
		return strings.Join(s, ",")
	case map[string]any:
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// TestChartSetsEveryDocumentedKey sets every key of docs/configuration.md to a value other
// than its default, under config or (for secrets) under secrets, and checks each lands as
// its documented variable, with the documented form, in the ConfigMap or the Secret (the
// owner DSN in the migration's Secret only). Then the serving pods' environment and the
// migration's are loaded by the server's own configuration loader and must validate and
// equal the same values given as a config file: nothing lost, renamed or mis-encoded.
func TestChartSetsEveryDocumentedKey(t *testing.T) {
	keys := readDocKeys(t)
	for _, k := range keys {
		if _, ok := sameAsDefault[k.Key]; !ok && envString(t, sampleValue(k)) == k.Default {
			t.Errorf("the sample of %s is its default %q: it would not show the variable is applied", k.Key, k.Default)
		}
	}
	values := map[string]any{"config": map[string]any{}, "secrets": map[string]any{}}
	file := map[string]any{}
	for _, k := range keys {
		section := "config"
		if k.Secret {
			section = "secrets"
		}
		v := sampleValue(k)
		setPath(values[section].(map[string]any), k.Key, v)
		setPath(file, k.Key, v)
	}
	values["containerPort"] = 8080
	valuesYAML, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	r := render(t, deploy.ChartOptions{}, string(valuesYAML))
	checkCommon(t, r)

	cm := r.configMaps["switchboard"].Data
	app := secretEnv(r.secrets["switchboard"])
	migCM := r.configMaps["switchboard-migrate"].Data
	mig := secretEnv(r.secrets["switchboard-migrate"])
	for _, k := range keys {
		want := envString(t, sampleValue(k))
		var got string
		var ok bool
		switch {
		case k.Key == "postgres.owner_dsn":
			got, ok = mig[k.Env]
			if _, leaked := app[k.Env]; leaked {
				t.Errorf("%s reaches the serving pods", k.Env)
			}
		case k.Secret:
			got, ok = app[k.Env]
		default:
			got, ok = cm[k.Env]
		}
		if !ok {
			t.Errorf("%s (%s, secret %v) is not in its object", k.Env, k.Key, k.Secret)
		} else if got != want {
			t.Errorf("%s = %q, want %q", k.Env, got, want)
		}
	}

	fromFile := loadConfigFile(t, file)
	fromApp, err := config.Load("", environ(cm, app))
	if err != nil {
		t.Fatalf("the serving pods' environment does not load: %v", err)
	}
	fromMig, err := config.Load("", environ(migCM, mig))
	if err != nil {
		t.Fatalf("the migration's environment does not load: %v", err)
	}
	if diff := cmp.Diff(fromFile, fromMig); diff != "" {
		t.Errorf("the migration's environment and the config file differ (-file +env):\n%s", diff)
	}
	fromFile.Postgres.OwnerDSN = "" // the serving pods never get it
	if diff := cmp.Diff(fromFile, fromApp); diff != "" {
		t.Errorf("the serving pods' environment and the config file differ (-file +env):\n%s", diff)
	}
}

// oneReplicaValues run one replica, whose JWT secret the chart generates.
const oneReplicaValues = `
replicaCount: 1
autoscaling: {enabled: false}
secrets: {postgres: {dsn: "postgres://app@db:5432/switchboard"}}
`

// TestChartEnvLoadsLikeFile loads the environment of the default values and of the
// external-services set with the server's loader, against the same values as a file.
func TestChartEnvLoadsLikeFile(t *testing.T) {
	for name, tt := range map[string]struct {
		values  string
		keyRing string // security.key_ring_file the chart sets
	}{"required values": {requiredValues, "/etc/switchboard/keyring/keyring.json"}, "one replica, generated JWT secret": {oneReplicaValues, ""}, "external services": {externalValues, "/etc/switchboard/keyring/keyring.json"}} {
		t.Run(name, func(t *testing.T) {
			valuesYAML := tt.values
			r := render(t, deploy.ChartOptions{}, valuesYAML)
			var values struct {
				Config, Secrets map[string]any
			}
			if err := yaml.Unmarshal([]byte(valuesYAML), &values); err != nil {
				t.Fatal(err)
			}
			file := map[string]any{"data_dir": "/var/lib/switchboard", "http": map[string]any{"addr": ":8080", "admin_addr": ":9090"}, "log": map[string]any{"format": "json"}}
			for _, m := range []map[string]any{values.Config, values.Secrets} {
				merge(file, m)
			}
			if tt.keyRing != "" {
				setPath(file, "security.key_ring_file", tt.keyRing)
			}
			want := loadConfigFile(t, file)
			want.Postgres.OwnerDSN = ""
			got, err := config.Load("", environ(r.configMaps["switchboard"].Data, secretEnv(r.secrets["switchboard"])))
			if err != nil {
				t.Fatal(err)
			}
			jwt := got.Auth.JWTSecret
			if auth, _ := values.Secrets["auth"].(map[string]any); auth["jwt_secret"] == nil { // generated by the chart
				want.Auth.JWTSecret = jwt
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-file +env):\n%s", diff)
			}
		})
	}
}

func loadConfigFile(t *testing.T, file map[string]any) config.Config {
	t.Helper()
	data, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("the values as a config file do not load: %v\n%s", err, data)
	}
	return cfg
}

func environ(maps ...map[string]string) []string {
	var out []string
	for _, m := range maps {
		for k, v := range m {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			dm, ok := dst[k].(map[string]any)
			if !ok {
				dm = map[string]any{}
				dst[k] = dm
			}
			merge(dm, sm)
			continue
		}
		dst[k] = v
	}
}
