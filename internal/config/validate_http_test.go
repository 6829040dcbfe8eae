package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestValidateOriginsAdminAndTimeouts: a malformed http.allowed_origins entry (one that
// made cors.New panic at start-up) is a configuration error naming the key; so are an
// admin listener on the API's own address and timeouts that cannot work.
func TestValidateOriginsAdminAndTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string // "" = valid; else a substring of the one problem
	}{
		{"https origin", func(c *Config) { c.HTTP.AllowedOrigins = []string{"https://shop.example.com"} }, ""},
		{"http origin with port", func(c *Config) { c.HTTP.AllowedOrigins = []string{"http://localhost:3000"} }, ""},
		{"no scheme", func(c *Config) { c.HTTP.AllowedOrigins = []string{"shop.example.com"} }, `http.allowed_origins: "shop.example.com" must start with https://`},
		{"ftp scheme", func(c *Config) { c.HTTP.AllowedOrigins = []string{"ftp://shop.example.com"} }, "must start with https://"},
		{"path", func(c *Config) { c.HTTP.AllowedOrigins = []string{"https://shop.example.com/chat"} }, "no path"},
		{"trailing slash", func(c *Config) { c.HTTP.AllowedOrigins = []string{"https://shop.example.com/"} }, `must not end with "/"`},
		{"wildcard", func(c *Config) { c.HTTP.AllowedOrigins = []string{"*"} }, "must start with https://"},
		{"wildcard host", func(c *Config) { c.HTTP.AllowedOrigins = []string{"https://*.example.com"} }, "wildcards are not allowed"},
		{"no host", func(c *Config) { c.HTTP.AllowedOrigins = []string{"https://"} }, "must name one host"},
		{"bad URL", func(c *Config) { c.HTTP.AllowedOrigins = []string{"https://shop example.com"} }, "is not a URL"},
		{"admin listener", func(c *Config) { c.HTTP.AdminAddr = "127.0.0.1:9090" }, ""},
		{"admin on the API address", func(c *Config) { c.HTTP.AdminAddr = c.HTTP.Addr }, "http.admin_addr: must differ from http.addr"},
		{"admin not host:port", func(c *Config) { c.HTTP.AdminAddr = "9090" }, "http.admin_addr: want host:port"},
		{"request timeout zero", func(c *Config) { c.HTTP.RequestTimeout = 0 }, "http.request_timeout: must be > 0 and below http.write_timeout"},
		{"request timeout past write timeout", func(c *Config) { c.HTTP.RequestTimeout = time.Minute }, "http.request_timeout"},
		{"no statement timeout", func(c *Config) { c.Postgres.StatementTimeout, c.Postgres.LockTimeout = 0, 0 }, ""},
		{"negative lock timeout", func(c *Config) { c.Postgres.LockTimeout = -time.Second }, "postgres: statement_timeout and lock_timeout must be ≥ 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.mutate(&c)
			err := c.Validate()
			var verr *ValidationError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want == "":
			case !errors.As(err, &verr) || len(verr.Problems) != 1:
				t.Fatalf("Validate() = %v, want one problem saying %q", err, tc.want)
			case !strings.Contains(verr.Problems[0], tc.want):
				t.Fatalf("problem %q does not say %q", verr.Problems[0], tc.want)
			}
		})
	}
}

// TestEnvSetsOpsKeys: the new keys load from the environment.
func TestEnvSetsOpsKeys(t *testing.T) {
	got, err := Load("", []string{"SWITCHBOARD_HTTP_ADMIN_ADDR=127.0.0.1:9090", "SWITCHBOARD_HTTP_HSTS=true",
		"SWITCHBOARD_HTTP_REQUEST_TIMEOUT=5s", "SWITCHBOARD_PG_STATEMENT_TIMEOUT=1m", "SWITCHBOARD_PG_LOCK_TIMEOUT=2s",
		"SWITCHBOARD_HTTP_ALLOWED_ORIGINS=https://a.example, http://localhost:3000"})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.HTTP.AdminAddr, want.HTTP.HSTS, want.HTTP.RequestTimeout = "127.0.0.1:9090", true, 5*time.Second
	want.HTTP.AllowedOrigins = []string{"https://a.example", "http://localhost:3000"}
	want.Postgres.StatementTimeout, want.Postgres.LockTimeout = time.Minute, 2*time.Second
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
