package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestClaimDataDir: one process at a time holds a data directory; a second serve is
// refused with a message naming the holder's pid and address, a CLI command waits its
// turn, and a record whose holder died (its lock is free) counts for nothing.
func TestClaimDataDir(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	never := func(Instance) bool { return false }
	serve := Instance{PID: os.Getpid(), Command: "serve", Started: time.Now().UTC().Truncate(time.Second)}
	c, err := ClaimDataDir(ctx, dir, serve, never)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Update(func(in *Instance) { in.HTTPAddr, in.PostgresAddr = "127.0.0.1:8080", "127.0.0.1:5555" }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, InstanceFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record: %v %v, want mode 0600", fi, err)
	}
	got, live, err := LiveInstance(dir)
	want := serve
	want.HTTPAddr, want.PostgresAddr = "127.0.0.1:8080", "127.0.0.1:5555"
	if err != nil || !live || !got.Serving() {
		t.Fatalf("LiveInstance = %+v, %v, %v", got, live, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}

	_, err = ClaimDataDir(ctx, dir, Instance{PID: os.Getpid(), Command: "serve", Started: time.Now()}, never)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "127.0.0.1:8080") || !strings.Contains(err.Error(), "pid ") {
		t.Fatalf("second serve: %v, want ErrInUse naming the pid and address", err)
	}

	// A CLI command waits for the holder to let go.
	acquired := make(chan *Claim, 1)
	go func() {
		cli, err := ClaimDataDir(ctx, dir, Instance{PID: os.Getpid(), Command: "users set"}, func(Instance) bool { return true })
		if err != nil {
			t.Error(err)
		}
		acquired <- cli
	}()
	select {
	case <-acquired:
		t.Fatal("claimed a held data directory")
	case <-time.After(300 * time.Millisecond):
	}
	c.Release()
	cli := <-acquired
	if got, live, _ := LiveInstance(dir); !live || got.Command != "users set" {
		t.Fatalf("after the hand-over: %+v live=%v", got, live)
	}

	// The holder dies without releasing (kill -9): the kernel drops its lock and the
	// record left behind is stale, although it names a live pid.
	cli.f.Close()
	if _, err := os.Stat(filepath.Join(dir, InstanceFile)); err != nil {
		t.Fatalf("the record should still be there: %v", err)
	}
	if got, live, err := LiveInstance(dir); live || err != nil {
		t.Fatalf("stale record reported live: %+v %v", got, err)
	}
	again, err := ClaimDataDir(ctx, dir, serve, never)
	if err != nil {
		t.Fatalf("claim over a stale record: %v", err)
	}
	again.Release()
	if _, err := os.Stat(filepath.Join(dir, InstanceFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("record left after a clean release: %v", err)
	}
}
