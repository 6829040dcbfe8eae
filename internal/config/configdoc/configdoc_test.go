package configdoc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRead(t *testing.T) {
	tests := []struct {
		name, table string
		want        []Row
		wantErr     string
	}{
		{name: "rows and prose", table: "# Configuration\n\n| Key | Environment variable | Default | Meaning |\n|---|---|---|---|\n" +
			"| `http.addr` | `SWITCHBOARD_HTTP_ADDR` | `:8080` | Listen address. |\n| `redis.addr` | `SWITCHBOARD_REDIS_ADDR` | `\"\"` | Standalone Redis. |\n",
			want: []Row{{Key: "http.addr", Env: "SWITCHBOARD_HTTP_ADDR", Default: ":8080", Meaning: "Listen address."},
				{Key: "redis.addr", Env: "SWITCHBOARD_REDIS_ADDR", Default: "", Meaning: "Standalone Redis."}}},
		{name: "a cell too few", table: "| `a` | `A` | `1` |\n", wantErr: "want 4 cells"},
		{name: "no code span", table: "| `a` | A | `1` | x |\n", wantErr: "cell 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "configuration.md")
			if err := os.WriteFile(p, []byte(tc.table), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := Read(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Read: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
		})
	}
}
