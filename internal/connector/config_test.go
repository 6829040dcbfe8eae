package connector_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/connector"
)

func TestParseYAML(t *testing.T) {
	doc := `
connectors:
  erp:
    base_url: https://erp.example.com/api
    timeout: 1500ms
    retries: -1
    cache_ttl: 1m
    cache_size: 50
    breaker: {failures: 3, open_for: 1m}
    auth: {type: hmac, secret_env: ERP_SECRET, header: X-Sig}
    allow: [order_id]
    headers: {Accept-Language: en}
    operations:
      get_order:
        path: /orders/{{.order_id}}
        not_found: [404, 410]
        map: {status: $.order.status, items: $.order.items}
        types: {items: int}
`
	got, err := connector.ParseYAML([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]connector.Config{"erp": {
		Name: "erp", BaseURL: "https://erp.example.com/api", Timeout: 1500 * time.Millisecond, Retries: -1,
		CacheTTL: time.Minute, CacheSize: 50, Breaker: connector.BreakerConfig{Failures: 3, OpenFor: time.Minute},
		Auth:    connector.AuthConfig{Type: "hmac", SecretEnv: "ERP_SECRET", Header: "X-Sig"},
		Allow:   []string{"order_id"},
		Headers: map[string]string{"Accept-Language": "en"},
		Operations: map[string]connector.Operation{"get_order": {
			Path: "/orders/{{.order_id}}", NotFound: []int{404, 410},
			Map:   map[string]string{"status": "$.order.status", "items": "$.order.items"},
			Types: map[string]string{"items": "int"},
		}},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseYAML (-want +got):\n%s", diff)
	}
}

// TestConfigErrors: each broken configuration fails at load (ParseYAML or New) with
// the right sentinel and a message that says what to fix.
func TestConfigErrors(t *testing.T) {
	const head = "connectors:\n  crm:\n    base_url: https://crm.example.com\n    allow: [email]\n"
	op := func(body string) string {
		return head + "    operations:\n      lookup_customer:\n" + body
	}
	tests := []struct {
		name string
		yaml string
		want error
		says string
	}{
		{"unknown key", head + "    retires: 3\n", connector.ErrConfig, "retires"},
		{"unknown operation key", op("        path: /c\n        mapping: {}\n"), connector.ErrConfig, "mapping"},
		{"duration as a number", head + "    timeout: 5\n", connector.ErrConfig, "line 5"},
		{"bad template", op("        path: /c/{{.email\n"), connector.ErrConfig, "lookup_customer.path"},
		{"bad body template", op("        path: /c\n        body: '{{if .email}}'\n"), connector.ErrConfig, "lookup_customer.body"},
		{"body not JSON", op("        path: /c\n        body: '{\"email\": {{.email}}'\n"), connector.ErrConfig, "JSON"},
		{"bad JSONPath", op("        path: /c\n        map: {tier: '$.results[0'}\n"), connector.ErrConfig, "map.tier"},
		{"bad exists JSONPath", op("        path: /c\n        exists: 'results'\n"), connector.ErrConfig, "exists"},
		{"unknown type", op("        path: /c\n        map: {tier: $.t}\n        types: {tier: integer}\n"), connector.ErrConfig, "integer"},
		{"type without map", op("        path: /c\n        types: {tier: int}\n"), connector.ErrConfig, "types.tier"},
		{"answer outside map", op("        path: /c\n        map: {tier: $.t}\n        answer: '{{.name}}'\n"), connector.ErrConfig, "answer"},
		{"field outside allow", op("        path: /c?phone={{.phone}}\n"), connector.ErrNotAllowed, `"phone"`},
		{"absolute path", op("        path: 'https://evil.example.com/{{.email}}'\n"), connector.ErrConfig, "relative"},
		{"no path", op("        method: GET\n"), connector.ErrConfig, "path"},
		{"no operations", head, connector.ErrConfig, "no operations"},
		{"unknown auth type", head + "    auth: {type: basic}\n" + "    operations: {x: {path: /x}}\n", connector.ErrConfig, `"basic"`},
		{"bearer without token", head + "    auth: {type: bearer}\n    operations: {x: {path: /x}}\n", connector.ErrConfig, "token"},
		{"secret and secret_env", head + "    auth: {type: hmac, secret: a, secret_env: B}\n    operations: {x: {path: /x}}\n", connector.ErrConfig, "not both"},
		{"unset secret_env", head + "    auth: {type: hmac, secret_env: UNSET_VAR}\n    operations: {x: {path: /x}}\n", connector.ErrConfig, "UNSET_VAR"},
		{"oauth2 without token_url", head + "    auth: {type: oauth2, client_id: a, client_secret: b}\n    operations: {x: {path: /x}}\n", connector.ErrConfig, "token_url"},
		{"oauth2 bad auth_style", head + "    auth: {type: oauth2, token_url: 'https://t', client_id: a, client_secret: b, auth_style: jwt}\n    operations: {x: {path: /x}}\n", connector.ErrConfig, "auth_style"},
		{"base_url with credentials", "connectors:\n  crm:\n    base_url: https://u:pw@crm.example.com\n    operations: {x: {path: /x}}\n", connector.ErrConfig, "credentials"},
		{"relative base_url", "connectors:\n  crm:\n    base_url: crm.example.com\n    operations: {x: {path: /x}}\n", connector.ErrConfig, "base_url"},
		{"bad allow entry", "connectors:\n  crm:\n    base_url: https://crm.example.com\n    allow: [e-mail]\n    operations: {x: {path: /x}}\n", connector.ErrConfig, "e-mail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgs, err := connector.ParseYAML([]byte(tt.yaml))
			if err == nil {
				_, err = connector.New(cfgs["crm"], connector.Options{Getenv: func(string) string { return "" }})
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not mention %q", err, tt.says)
			}
		})
	}
}

func TestDefaultsApply(t *testing.T) {
	// A connector with every default: a call through it uses the cache (5m) and
	// passes the breaker; it is enough here that New accepts the zero values.
	cfg := connector.Config{Name: "crm", BaseURL: "https://crm.example.com",
		Operations: map[string]connector.Operation{"ping": {Path: "/ping"}}}
	if _, err := connector.New(cfg, connector.Options{}); err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = -time.Second
	if _, err := connector.New(cfg, connector.Options{}); !errors.Is(err, connector.ErrConfig) {
		t.Errorf("negative timeout: %v, want ErrConfig", err)
	}
}

func TestSecretIsRedacted(t *testing.T) {
	a := connector.AuthConfig{Type: "oauth2", ClientSecret: "hunter2", Token: "tok"}
	for _, s := range []string{sprint(a), sprintGo(a), a.ClientSecret.String()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "tok\"") {
			t.Errorf("a secret is printed: %s", s)
		}
	}
	if connector.Secret("").String() != "" || connector.Secret("x").String() != "[redacted]" {
		t.Error("Secret.String: want empty for empty, [redacted] otherwise")
	}
}

func TestResultLogsNoValues(t *testing.T) {
	logs := &logBuffer{}
	logs.logger().Info("lookup", "result", connector.Result{Found: true, Fields: map[string]any{"name": "Ada Lovelace", "tier": "gold"}})
	if s := logs.String(); strings.Contains(s, "Lovelace") || strings.Contains(s, "gold") || !strings.Contains(s, "result.fields=\"[name tier]\"") {
		t.Errorf("log %s: want field names without values", s)
	}
}

func TestResultHelpers(t *testing.T) {
	r := connector.Result{Found: true, Fields: map[string]any{"s": "gold", "i": int64(3), "f": 2.5, "l": []string{"a", "b"},
		"any": []any{"x", int64(1)}, "b": true}}
	tests := []struct {
		field      string
		wantString string
		wantList   []string
	}{
		{"s", "gold", []string{"gold"}},
		{"i", "3", []string{"3"}},
		{"f", "2.5", []string{"2.5"}},
		{"l", "a, b", []string{"a", "b"}},
		{"any", "x, 1", []string{"x", "1"}},
		{"b", "true", []string{"true"}},
		{"missing", "", nil},
	}
	for _, tt := range tests {
		if got := r.String(tt.field); got != tt.wantString {
			t.Errorf("String(%s) = %q, want %q", tt.field, got, tt.wantString)
		}
		if diff := cmp.Diff(tt.wantList, r.Strings(tt.field)); diff != "" {
			t.Errorf("Strings(%s) (-want +got):\n%s", tt.field, diff)
		}
	}
}
