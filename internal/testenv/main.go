package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// exitHooks release what this process started (private servers, template databases) when
// Main returns from m.Run; they run in reverse order of registration.
var exitHooks struct {
	mu  sync.Mutex
	fns []func(context.Context) error
}

// onMainExit registers fn to run when Main finishes the tests.
func onMainExit(fn func(context.Context) error) {
	exitHooks.mu.Lock()
	defer exitHooks.mu.Unlock()
	exitHooks.fns = append(exitHooks.fns, fn)
}

// Main runs the package's tests, then stops the private servers and drops the template
// databases this process created, and exits with the tests' code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	os.Exit(run(m))
}

// MainCheckingLeaks is Main, and then fails the package when goroutines are still running
// after the tests and the teardown: a server, worker or subscription a test started and
// its cleanup did not stop. ignore lists goroutines that are meant to outlive the tests
// (each with its reason at the call site). Leaks are only checked when the tests passed,
// so a failing test's stuck goroutines do not hide its own message.
func MainCheckingLeaks(m *testing.M, ignore ...goleak.Option) {
	code := run(m)
	if code == 0 {
		// Idle keep-alive connections of HTTP clients (outbound channel clients, the
		// tests' own) are pooled, not leaked: they close on their idle timeout.
		ignore = append(ignore, goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
		if err := goleak.Find(ignore...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines outlived the tests:\n%v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// run runs the tests and then the teardown hooks, and returns the tests' exit code.
func run(m *testing.M) int {
	code := m.Run()
	// Keep-alive connections of the default client are not the tests' goroutines.
	http.DefaultClient.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	runExitHooks(ctx)
	cancel()
	return code
}

// runExitHooks runs and forgets the registered hooks, reporting failures on stderr.
func runExitHooks(ctx context.Context) {
	exitHooks.mu.Lock()
	fns := exitHooks.fns
	exitHooks.fns = nil
	exitHooks.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i](ctx); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: teardown:", err)
		}
	}
}

// InCI reports whether the tests run in continuous integration (CI=true), where a missing
// service or data set fails the test instead of skipping it.
func InCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// missing skips the test with msg, or fails it when InCI.
func missing(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatalf("testenv: %s\n(CI=true: a missing service or data set is a failure, not a skip)", msg)
		return
	}
	t.Skipf("testenv: %s", msg)
}

// FreePort returns a TCP port on 127.0.0.1 that is unused at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// SharedData returns the path of rel inside the evaluation data set, the directory
// "shared/data" found by walking up from the working directory (it sits beside the
// repository checkout, as ../shared/data). The test skips with a clear message when the
// data is absent, or fails when InCI.
func SharedData(t testing.TB, rel string) string {
	t.Helper()
	p, err := LookupSharedData(rel)
	if err != nil {
		missing(t, err.Error())
		return ""
	}
	return p
}

// LookupSharedData is SharedData for a test that goes on without the file (it leaves
// out what needs it, and says why): the path, or why it is not there.
func LookupSharedData(rel string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testenv: working directory: %w", err)
	}
	root, ok := findSharedData(wd)
	if !ok {
		return "", fmt.Errorf("shared evaluation data (a shared/data directory beside the repository, "+
			"the README says where it comes from) was not found above %s; this test needs %s", wd, rel)
	}
	p := filepath.Join(root, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("shared evaluation data %s is missing: %w", rel, err)
	}
	return p, nil
}

// findSharedData looks for a "shared/data" directory in start and each of its ancestors.
func findSharedData(start string) (string, bool) {
	for dir := start; ; dir = filepath.Dir(dir) {
		candidate := filepath.Join(dir, "shared", "data")
		if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
			return candidate, true
		}
		if dir == filepath.Dir(dir) {
			return "", false
		}
	}
}

// randHex returns n random bytes as lower-case hex.
func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Missing skips the test with msg, or fails it when InCI: for helpers in other packages
// that find a service, library or data set missing.
func Missing(t testing.TB, msg string) {
	t.Helper()
	missing(t, msg)
}
