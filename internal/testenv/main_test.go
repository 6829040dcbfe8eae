package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { Main(m) }

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	if port <= 0 || port > 65535 {
		t.Fatalf("FreePort = %d", port)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d is not free: %v", port, err)
	}
	_ = l.Close()
}

func TestInCI(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want bool
	}{{"true", true}, {"1", true}, {"", false}, {"false", false}, {"yes-please", false}} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv("CI", tc.env)
			if got := InCI(); got != tc.want {
				t.Errorf("InCI() with CI=%q = %v, want %v", tc.env, got, tc.want)
			}
		})
	}
}

// recordTB captures how missing() reacts instead of stopping the test.
type recordTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordTB) Helper()                     {}
func (r *recordTB) Skipf(f string, args ...any) { r.skipped = fmt.Sprintf(f, args...) }
func (r *recordTB) Fatalf(f string, args ...any) {
	r.failed = fmt.Sprintf(f, args...)
}

func TestMissingSkipsLocallyAndFailsInCI(t *testing.T) {
	for _, tc := range []struct {
		ci           string
		skip, failed bool
	}{{"", true, false}, {"true", false, true}} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			rec := &recordTB{}
			missing(rec, "install redis-server")
			got := struct{ Skip, Failed bool }{rec.skipped != "", rec.failed != ""}
			want := struct{ Skip, Failed bool }{tc.skip, tc.failed}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("missing() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFindSharedDataWalksUp(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "shared", "data")
	deep := filepath.Join(root, "repo", "internal", "pkg")
	for _, d := range []string{data, deep} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, ok := findSharedData(deep)
	if !ok || got != data {
		t.Errorf("findSharedData(%s) = %q, %v; want %q", deep, got, ok, data)
	}
	if got, ok := findSharedData(filepath.Join(t.TempDir(), "elsewhere")); ok {
		t.Errorf("found shared data %q where there is none", got)
	}
}

func TestSharedDataReadme(t *testing.T) {
	p := SharedData(t, "README.md")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}
