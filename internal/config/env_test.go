package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// writeFile writes a config file into a temporary directory and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnvPrecedence(t *testing.T) {
	file := writeFile(t, `
http:
  addr: ":9000"
  read_timeout: 20s
postgres:
  dsn: postgres://file/db
  max_conns: 7
redis:
  password: file-secret
routing:
  weights: {vip: 1, skill: 1, load: 1, wait: 1}
`)
	tests := []struct {
		name    string
		path    string
		environ []string
		check   func(Config) any // extracts the values under test
		want    any
	}{
		{"default only", "", nil,
			func(c Config) any { return []any{c.HTTP.Addr, c.Postgres.MaxConns} }, []any{":8080", int32(10)}},
		{"file beats default", file, nil,
			func(c Config) any { return []any{c.HTTP.Addr, c.Postgres.MaxConns, c.HTTP.WriteTimeout} }, []any{":9000", int32(7), 30 * time.Second}},
		{"env beats file", file, []string{"SWITCHBOARD_HTTP_ADDR=:9100", "SWITCHBOARD_PG_MAX_CONNS=3", "SWITCHBOARD_HTTP_READ_TIMEOUT=1m30s"},
			func(c Config) any { return []any{c.HTTP.Addr, c.Postgres.MaxConns, c.HTTP.ReadTimeout} }, []any{":9100", int32(3), 90 * time.Second}},
		{"env beats default", "", []string{"SWITCHBOARD_ARCHIVE_AFTER=48h", "SWITCHBOARD_ROUTING_WEIGHT_SKILL=0.9"},
			func(c Config) any { return []any{c.Archive.After, c.Routing.Weights.Skill} }, []any{48 * time.Hour, 0.9}},
		{"empty env clears a string", file, []string{"SWITCHBOARD_PG_DSN="},
			func(c Config) any { return c.Postgres.DSN }, ""},
		{"list is comma separated and trimmed", "", []string{"SWITCHBOARD_REDIS_CLUSTER_ADDRS= r0:6379, r1:6379,,r2:6379 "},
			func(c Config) any { return c.Redis.ClusterAddrs }, []string{"r0:6379", "r1:6379", "r2:6379"}},
		{"first duplicate wins", "", []string{"SWITCHBOARD_LOG_LEVEL=warn", "SWITCHBOARD_LOG_LEVEL=debug"},
			func(c Config) any { return c.Log.Level }, "warn"},
		{"unrelated variables ignored", "", []string{"PATH=/bin", "SWITCHBOARD_TEST_PG_DSN=postgres://x", "NOEQUALS"},
			func(c Config) any { return c.Postgres.DSN }, ""},
		{"untouched file values survive env", file, []string{"SWITCHBOARD_REDIS_DB=1"},
			func(c Config) any { return []any{c.Redis.Password, c.Redis.DB, c.Routing.Weights.Wait} }, []any{"file-secret", 1, 1.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load(tt.path, tt.environ)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, tt.check(cfg)); diff != "" {
				t.Errorf("mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		environ []string
		want    []string
	}{
		{[]string{"SWITCHBOARD_CACHE_TICKET_TTL=5"}, []string{`SWITCHBOARD_CACHE_TICKET_TTL (cache.ticket_ttl): want a Go duration such as 30s, 5m or 12h, got "5"`}},
		{[]string{"SWITCHBOARD_PG_MAX_CONNS=ten", "SWITCHBOARD_REDIS_DB="}, []string{
			`SWITCHBOARD_PG_MAX_CONNS (postgres.max_conns): want an integer that fits in int32, got "ten"`,
			`SWITCHBOARD_REDIS_DB (redis.db): want an integer that fits in int, got ""`,
		}},
		{[]string{"SWITCHBOARD_PG_MAX_CONNS=99999999999"}, []string{"fits in int32"}},
		{[]string{"SWITCHBOARD_SLA_AT_RISK_FRACTION=a fifth"}, []string{`want a number such as 0.25, got "a fifth"`}},
		// A parsable but invalid value is caught by Validate and names the key.
		{[]string{"SWITCHBOARD_PG_MAX_CONNS=0"}, []string{"postgres.max_conns: must be ≥ 1 (got 0)"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.environ, " "), func(t *testing.T) {
			_, err := Load("", tt.environ)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Load error = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}
}
