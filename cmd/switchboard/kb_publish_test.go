package main

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/config"
)

// TestServeRecordURL: the running server `kb ingest` waits for is read from serve.json;
// records of other commands, of dead processes or unreadable ones are no server.
func TestServeRecordURL(t *testing.T) {
	live := os.Getpid()
	for _, tc := range []struct {
		name, record string
		tls          bool
		want         string
	}{
		{"serve on loopback", `{"pid":%d,"command":"serve","http_addr":"127.0.0.1:8080"}`, false, "http://127.0.0.1:8080"},
		{"wildcard address", `{"pid":%d,"command":"serve","http_addr":"0.0.0.0:9000"}`, false, "http://127.0.0.1:9000"},
		{"port only", `{"pid":%d,"http_addr":":9001"}`, false, "http://127.0.0.1:9001"},
		{"ipv6 wildcard with TLS configured", `{"pid":%d,"http_addr":"[::]:8443"}`, true, "https://127.0.0.1:8443"},
		{"another command holds the directory", `{"pid":%d,"command":"migrate"}`, false, ""},
		{"dead process", `{"pid":999999999,"command":"serve","http_addr":"127.0.0.1:8080"}`, false, ""},
		{"not JSON", `pid %d`, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DataDir = t.TempDir()
			if tc.tls {
				cfg.HTTP.TLSCertFile, cfg.HTTP.TLSKeyFile = "c.pem", "k.pem"
			}
			rec := tc.record
			if strings.Contains(rec, "%d") {
				rec = fmt.Sprintf(rec, live)
			}
			os.WriteFile(serveRecordPath(cfg), []byte(rec), 0o600)
			got := ""
			if r, ok := readServeRecord(cfg); ok {
				got = r.baseURL()
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("base URL (-want +got):\n%s", diff)
			}
		})
	}
}
