package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-cs/switchboard/internal/embedded"
)

// redisStartTimeout bounds how long a redis-server may take to answer PING.
const redisStartTimeout = 15 * time.Second

// errRedisExited reports that redis-server ended before answering (typically: port taken).
var errRedisExited = errors.New("redis-server exited during start")

// RedisServer is a redis-server process started from the local binary, without
// persistence (--save "" --appendonly no), listening on 127.0.0.1.
type RedisServer struct {
	// Addr is the server's host:port; it stays the same across Restart.
	Addr string

	bin, dir string
	port     int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// PrivateRedis starts a redis-server for this test alone (safe for FLUSHALL, CONFIG SET or
// restarts) and stops it when the test ends. The test skips (fails in CI) when redis-server
// is not installed.
func PrivateRedis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := embedded.FindRedisServer()
	if err != nil {
		unavailable(t, err)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := launchRedis(ctx, bin, t.TempDir())
	if err != nil {
		t.Fatalf("testenv: start private redis-server: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// Restart kills the server (SIGKILL) and starts it again on the same port; with no
// persistence every key is gone afterwards.
func (s *RedisServer) Restart(t testing.TB) {
	t.Helper()
	s.kill()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.start(ctx); err != nil {
		t.Fatalf("testenv: restart redis-server on %s: %v", s.Addr, err)
	}
}

// Stop terminates the server and waits for it to exit; calling it again is harmless.
func (s *RedisServer) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// kill ends the server at once, as a crash would.
func (s *RedisServer) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// launchRedis starts redis-server on a free port, trying another port when the chosen one
// was taken in the meantime.
func launchRedis(ctx context.Context, bin, dir string) (*RedisServer, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var l net.Listener
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		srv := &RedisServer{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), bin: bin, dir: dir, port: port}
		if err = srv.start(ctx); err == nil {
			return srv, nil
		}
		if !errors.Is(err, errRedisExited) {
			return nil, err
		}
	}
	return nil, err
}

// start runs redis-server on s.port and waits until it answers PING.
func (s *RedisServer) start(ctx context.Context) error {
	logPath := filepath.Join(s.dir, fmt.Sprintf("redis-%d.log", s.port))
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir, "--daemonize", "no", "--logfile", "")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr, syscall.SIGKILL)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if err := waitRedisReady(ctx, s.Addr, cmd.Process.Pid, done); err != nil {
		_ = cmd.Process.Kill()
		<-done
		tail, _ := os.ReadFile(logPath)
		return fmt.Errorf("%w\n--- %s ---\n%s", err, logPath, tail)
	}
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	return nil
}

// waitRedisReady polls addr until the server with process id pid answers (a server that
// grabbed the port first is not mistaken for ours), the process exits or time is up.
func waitRedisReady(ctx context.Context, addr string, pid int, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, redisStartTimeout)
	defer cancel()
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1, DialerRetries: 1})
	defer client.Close()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if servedBy(ctx, client, addr, pid) {
			return nil
		}
		select {
		case <-exited:
			return errRedisExited
		case <-ctx.Done():
			return fmt.Errorf("redis-server on %s did not answer: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
}

// servedBy reports whether the Redis answering at addr is the process pid.
func servedBy(ctx context.Context, client *redis.Client, addr string, pid int) bool {
	if dialable(ctx, addr) != nil {
		return false
	}
	info, err := client.Info(ctx, "server").Result()
	return err == nil && strings.Contains(info, "process_id:"+strconv.Itoa(pid)+"\r\n")
}
