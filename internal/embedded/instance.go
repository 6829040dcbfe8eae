package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// InstanceFile is the record, in a data directory, of the process that uses it.
const InstanceFile = "serve.json"

// ErrInUse reports that another live process holds the data directory.
var ErrInUse = errors.New("data directory in use")

// Instance says which process holds a data directory and where it listens. The holder
// keeps an exclusive flock on the file for as long as it runs, so the kernel releases the
// claim when the process dies however it dies: a record whose lock is free is stale.
type Instance struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"` // "serve", or the CLI command holding the directory
	Started time.Time `json:"started"`
	// HTTPAddr and AdminAddr are where a serve listens (once it does).
	HTTPAddr  string `json:"http_addr,omitempty"`
	AdminAddr string `json:"admin_addr,omitempty"`
	// PostgresAddr is the embedded PostgreSQL's 127.0.0.1:port (it has no unix socket),
	// PostgresDir its data directory; both empty with an external PostgreSQL.
	PostgresAddr string `json:"postgres_addr,omitempty"`
	PostgresDir  string `json:"postgres_data_dir,omitempty"`
}

// Serving reports whether the record is of a `switchboard serve`.
func (in Instance) Serving() bool { return in.Command == "serve" }

// String describes the holder for messages: `switchboard serve (pid 42, http 127.0.0.1:8080, since …)`.
func (in Instance) String() string {
	s := fmt.Sprintf("switchboard %s (pid %d", in.Command, in.PID)
	if in.HTTPAddr != "" {
		s += ", http " + in.HTTPAddr
	}
	return s + ", since " + in.Started.Format(time.RFC3339) + ")"
}

// Claim is a held data directory; Release gives it up.
type Claim struct {
	mu   sync.Mutex
	f    *os.File
	path string
	rec  Instance
}

// ClaimDataDir takes dir for rec (written to dir/serve.json, mode 0600). When a live
// process holds it, keepWaiting decides from its record whether to wait for it (polling
// until ctx ends) or to give up with an error wrapping ErrInUse that names the holder.
func ClaimDataDir(ctx context.Context, dir string, rec Instance, keepWaiting func(holder Instance) bool) (*Claim, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded: data directory: %w", err)
	}
	path := filepath.Join(dir, InstanceFile)
	for {
		c, holder, err := tryClaim(path, rec)
		if c != nil || err != nil {
			return c, err
		}
		// A holder whose record is unreadable or names a dead process is between a
		// claim and its first write, or is releasing: wait for it either way.
		if holder.PID > 0 && processAlive(holder.PID) && !keepWaiting(holder) {
			return nil, fmt.Errorf("%w: %s already uses %s", ErrInUse, holder, dir)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("embedded: waiting for %s to release %s: %w", holder, dir, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tryClaim locks path without waiting: a Claim when it got it, else the holder's record.
func tryClaim(path string, rec Instance) (*Claim, Instance, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, Instance{}, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := readInstance(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, holder, nil
		}
		return nil, Instance{}, fmt.Errorf("embedded: lock %s: %w", path, err)
	}
	if !samePath(f, path) { // a releasing holder removed the file we opened: retry
		f.Close()
		return nil, Instance{}, nil
	}
	c := &Claim{f: f, path: path, rec: rec}
	if err := c.write(); err != nil {
		c.Release()
		return nil, Instance{}, err
	}
	return c, Instance{}, nil
}

// samePath reports whether the open file f is still the one at path.
func samePath(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// Update changes the record (e.g. once the HTTP listener or PostgreSQL is up).
func (c *Claim) Update(change func(*Instance)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return nil
	}
	change(&c.rec)
	return c.write()
}

// write replaces the file's content with the record; c.mu is held or c is unshared.
func (c *Claim) write() error {
	b, err := json.MarshalIndent(c.rec, "", "  ")
	if err != nil {
		return err
	}
	if err := c.f.Truncate(0); err != nil {
		return fmt.Errorf("embedded: write %s: %w", c.path, err)
	}
	if _, err := c.f.WriteAt(append(b, '\n'), 0); err != nil {
		return fmt.Errorf("embedded: write %s: %w", c.path, err)
	}
	return nil
}

// Release removes the record and gives up the claim; calling it again does nothing.
func (c *Claim) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.f == nil {
		return
	}
	_ = os.Remove(c.path)
	_ = c.f.Close() // drops the flock
	c.f = nil
}

// LiveInstance returns the record of the live process holding dir, if there is one. A
// record left by a process that died (its lock is free) is not returned.
func LiveInstance(dir string) (Instance, bool, error) {
	path := filepath.Join(dir, InstanceFile)
	for attempt := 0; ; attempt++ {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return Instance{}, false, nil
		}
		if err != nil {
			return Instance{}, false, fmt.Errorf("embedded: open %s: %w", path, err)
		}
		rec, live, err := liveRecord(f)
		f.Close()
		if err == nil || attempt == 20 {
			return rec, live, err
		}
		time.Sleep(50 * time.Millisecond) // the holder is writing its record
	}
}

// liveRecord reads f's record when a live process holds its lock.
func liveRecord(f *os.File) (Instance, bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return Instance{}, false, nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return Instance{}, false, fmt.Errorf("embedded: lock %s: %w", f.Name(), err)
	}
	rec, err := readInstance(f)
	if err != nil {
		return Instance{}, true, err
	}
	return rec, true, nil
}

func readInstance(f *os.File) (Instance, error) {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<20))
	if err != nil {
		return Instance{}, err
	}
	var rec Instance
	if err := json.Unmarshal(b, &rec); err != nil {
		return Instance{}, fmt.Errorf("embedded: %s: %w", f.Name(), err)
	}
	return rec, nil
}
