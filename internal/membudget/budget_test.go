package membudget

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBudgetBoundsWhatIsHeld(t *testing.T) {
	b := New(100)
	if _, err := b.Acquire(context.Background(), 101, time.Millisecond); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the whole budget: %v, want ErrTooLarge", err)
	}
	h, err := b.Acquire(context.Background(), 60, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := b.Acquire(context.Background(), 50, 30*time.Millisecond); !errors.Is(err, ErrBusy) || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("budget full: %v after %s, want ErrBusy after the wait", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Acquire(ctx, 50, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	if !h.Grow(40) || h.Grow(1) || b.InUse() != 100 {
		t.Fatalf("grow: held %d, in use %d", h.Size(), b.InUse())
	}
	h.Shrink(10)
	if h.Size() != 10 || b.InUse() != 10 {
		t.Fatalf("after shrink: held %d, in use %d", h.Size(), b.InUse())
	}
	done := make(chan *Hold)
	go func() {
		h2, err := b.Acquire(context.Background(), 95, 5*time.Second)
		if err != nil {
			t.Error(err)
		}
		done <- h2
	}()
	time.Sleep(20 * time.Millisecond)
	h.Release()
	h.Release() // a second release gives nothing back twice
	h2 := <-done
	if b.InUse() != 95 {
		t.Fatalf("in use %d, want 95", b.InUse())
	}
	h2.Release()
	var nilHold *Hold
	nilHold.Release()
	if b.InUse() != 0 {
		t.Fatalf("in use %d after every release", b.InUse())
	}
}

// TestBudgetUnderContention: many holders never hold more than the budget together.
func TestBudgetUnderContention(t *testing.T) {
	b := New(1000)
	var peak, cur atomic.Int64
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			h, err := b.Acquire(context.Background(), int64(100+i*7), 10*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			n := cur.Add(h.Size())
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			time.Sleep(time.Millisecond)
			cur.Add(-h.Size())
			h.Release()
		})
	}
	wg.Wait()
	if peak.Load() > 1000 || b.InUse() != 0 {
		t.Fatalf("peak %d of 1000, %d left in use", peak.Load(), b.InUse())
	}
}

func TestLimitReadsCgroupAndMeminfo(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old2, old1, oldMem := cgroupV2Max, cgroupV1Max, procMeminfo
	t.Cleanup(func() { cgroupV2Max, cgroupV1Max, procMeminfo = old2, old1, oldMem })
	procMeminfo = write("meminfo", "MemFree:  100 kB\nMemTotal:       4194304 kB\n")
	cgroupV1Max = filepath.Join(dir, "missing")
	for _, tc := range []struct {
		v2     string
		want   int64
		source string
	}{
		{"max\n", 4 << 30, "MemTotal"},
		{"1073741824\n", 1 << 30, "memory.max"},
		{"8589934592\n", 4 << 30, "MemTotal"}, // a cgroup limit above the machine's memory
		{"garbage", 4 << 30, "MemTotal"},
	} {
		cgroupV2Max = write("memory.max", tc.v2)
		got, src, err := Limit()
		if err != nil || got != tc.want || filepath.Base(src) != tc.source {
			t.Errorf("memory.max %q: %d from %s (%v), want %d from %s", tc.v2, got, src, err, tc.want, tc.source)
		}
	}
	procMeminfo = filepath.Join(dir, "missing")
	if _, _, err := Limit(); err == nil {
		t.Error("no meminfo: want an error")
	}
}
