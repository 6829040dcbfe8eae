package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// startAttempts bounds the retries of a start whose server exits before accepting
// connections: children of a killed postmaster may hold its shared memory for a moment,
// and a port picked as free may be taken before the server binds it.
const startAttempts = 10

// errExited reports that the server process ended before it accepted connections.
var errExited = errors.New("embedded: PostgreSQL exited during start")

// serverProcess is a running server and the channel closed when it exits.
type serverProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit error, valid once done is closed
}

// startProcess starts cmd and reaps it in the background.
func startProcess(cmd *exec.Cmd) (*serverProcess, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sp := &serverProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		sp.err = cmd.Wait()
		close(sp.done)
	}()
	return sp, nil
}

// stop asks for a fast shutdown (SIGINT) and waits; when ctx ends first it escalates to an
// immediate shutdown (SIGQUIT) and finally kills the process group.
func (sp *serverProcess) stop(ctx context.Context) error {
	select {
	case <-sp.done:
		return nil
	default:
	}
	_ = sp.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-sp.done:
		return nil
	case <-ctx.Done():
	}
	_ = sp.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-sp.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-sp.cmd.Process.Pid, syscall.SIGKILL)
		<-sp.done
	}
	return fmt.Errorf("embedded: PostgreSQL fast shutdown did not finish, stopped immediately: %w", ctx.Err())
}

// startWithRetry starts the server, retrying (with a new free port when none was asked
// for) while it exits during start.
func (p *Postgres) startWithRetry(ctx context.Context) error {
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		port := p.opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return err
			}
		}
		err = p.start(ctx, port)
		if err == nil || !errors.Is(err, errExited) {
			return err
		}
		p.logger.Debug("embedded: PostgreSQL exited during start, retrying", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(300 * time.Millisecond):
		}
	}
	return err
}

// start launches postgres on port and waits until it accepts connections.
func (p *Postgres) start(ctx context.Context, port int) error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("embedded: open server log: %w", err)
	}
	offset, _ := logf.Seek(0, io.SeekEnd)
	cmd := p.owner.command(p.dataDir, filepath.Join(p.binDir, "postgres"), p.serverArgs(port)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	setParentDeathSignal(cmd.SysProcAttr, syscall.SIGINT)
	proc, err := startProcess(cmd)
	logf.Close()
	if err != nil {
		return fmt.Errorf("embedded: start postgres: %w", err)
	}
	if err := waitPostgresReady(ctx, proc, p.creds.OwnerDSN(port, "postgres"), p.dataDir); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = proc.stop(stopCtx)
		return fmt.Errorf("%w\n--- tail of %s ---\n%s", err, p.logPath, logTail(p.logPath, offset))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping { // Stop ran while this (re)start was under way
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = proc.stop(stopCtx)
		return errors.New("embedded: PostgreSQL was stopped while starting")
	}
	p.port, p.proc = port, proc
	return nil
}

// serverArgs listens on 127.0.0.1:port only; the unix socket is disabled, which also
// sidesteps the 107-byte socket path limit for deep data directories.
func (p *Postgres) serverArgs(port int) []string {
	args := []string{"-D", p.dataDir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="}
	if p.opts.Ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	return args
}

// waitPostgresReady polls until the server at dsn answers and reports dataDir as its data
// directory (so another server on the same port is never mistaken for ours).
func waitPostgresReady(ctx context.Context, proc *serverProcess, dsn, dataDir string) error {
	dsn += "&connect_timeout=2"
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if servesDir(ctx, dsn) == dataDir {
			return nil
		}
		select {
		case <-proc.done:
			return fmt.Errorf("%w (%v)", errExited, proc.err)
		case <-ctx.Done():
			return fmt.Errorf("embedded: PostgreSQL did not accept connections in time: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// servesDir returns the data directory of the server at dsn, or "" when it does not answer.
func servesDir(ctx context.Context, dsn string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return ""
	}
	defer conn.Close(ctx)
	var dir string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
		return ""
	}
	return dir
}

// clearStalePostmaster deals with a postmaster.pid in dataDir: a dead process is left to
// postgres (it replaces the lock file itself), a live unrelated process (reused pid) gets
// the file removed, and a live server on this directory (left by a crashed or killed
// switchboard) is shut down so ours can start.
func clearStalePostmaster(ctx context.Context, dataDir string, logger *slog.Logger) error {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	raw, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded: read postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		logger.Warn("embedded: removing unreadable postmaster.pid", "path", pidFile)
		return os.Remove(pidFile)
	}
	if !processAlive(pid) {
		return nil
	}
	ours, known := processInDir(pid, dataDir)
	switch {
	case !known:
		return nil // cannot tell: let postgres judge the lock file
	case !ours:
		logger.Warn("embedded: removing postmaster.pid naming an unrelated process", "pid", pid)
		return os.Remove(pidFile)
	}
	logger.Warn("embedded: stopping a PostgreSQL left running on this data directory", "pid", pid)
	return stopOrphan(ctx, pid)
}

// stopOrphan fast-stops a server this process did not start and waits for it to go.
func stopOrphan(ctx context.Context, pid int) error {
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("embedded: stop PostgreSQL pid %d: %w", pid, err)
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for processAlive(pid) {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(pid, syscall.SIGQUIT)
			return fmt.Errorf("embedded: PostgreSQL pid %d did not stop: %w", pid, ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// processAlive reports whether pid is a running (not zombie) process.
func processAlive(pid int) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err == nil {
		if i := bytes.LastIndexByte(raw, ')'); i >= 0 && i+2 < len(raw) {
			return raw[i+2] != 'Z'
		}
		return true
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// processInDir reports whether pid's working directory is dir (a postmaster works in its
// data directory); known is false when /proc cannot tell.
func processInDir(pid int, dir string) (ours, known bool) {
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return false, false
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return filepath.Clean(cwd) == filepath.Clean(dir), true
}

// runWithContext runs cmd to completion, returning its combined output; when ctx ends the
// whole process group is killed.
func runWithContext(ctx context.Context, cmd *exec.Cmd) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	proc, err := startProcess(cmd)
	if err != nil {
		return nil, err
	}
	select {
	case <-proc.done:
		return out.Bytes(), proc.err
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-proc.done
		return out.Bytes(), ctx.Err()
	}
}

// freePort asks the kernel for a currently unused TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("embedded: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logTail returns the last few KiB the server wrote to path after offset.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	const max = 4096
	if fi, err := f.Stat(); err == nil && fi.Size()-offset > max {
		offset = fi.Size() - max
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err.Error()
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}
