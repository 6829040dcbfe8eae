package membudget

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// ErrTooLarge means a request asked for more bytes than the whole budget: it could never
// be granted.
var ErrTooLarge = errors.New("more memory than the whole budget")

// ErrBusy means the bytes did not free up within the wait allowed.
var ErrBusy = errors.New("memory budget exhausted")

// Budget is a number of bytes shared by concurrent work: each piece of work holds the
// bytes it may keep in memory and gives them back when done. Waiters are served in
// order (a large request is not starved by small ones).
type Budget struct {
	sem  *semaphore.Weighted
	size int64
	used atomic.Int64
}

// New returns a budget of size bytes (at least 1).
func New(size int64) *Budget {
	size = max(size, 1)
	return &Budget{sem: semaphore.NewWeighted(size), size: size}
}

// Size is the whole budget in bytes.
func (b *Budget) Size() int64 { return b.size }

// InUse is the number of bytes held right now.
func (b *Budget) InUse() int64 { return b.used.Load() }

// Acquire holds n bytes, waiting at most wait (and no longer than ctx allows) for them
// to free up. Errors: ErrTooLarge (n is over the whole budget), ErrBusy (wrapped, the
// wait ran out) or ctx's error.
func (b *Budget) Acquire(ctx context.Context, n int64, wait time.Duration) (*Hold, error) {
	if n <= 0 {
		return &Hold{b: b}, nil
	}
	if n > b.size {
		return nil, fmt.Errorf("%w: %d bytes asked, budget %d", ErrTooLarge, n, b.size)
	}
	if b.sem.TryAcquire(n) {
		return b.hold(n), nil
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := b.sem.Acquire(wctx, n); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %d bytes not free within %s (%d of %d in use)", ErrBusy, n, wait, b.InUse(), b.size)
	}
	return b.hold(n), nil
}

// TryAcquire holds n bytes if they are free now.
func (b *Budget) TryAcquire(n int64) (*Hold, bool) {
	if n <= 0 {
		return &Hold{b: b}, true
	}
	if n > b.size || !b.sem.TryAcquire(n) {
		return nil, false
	}
	return b.hold(n), true
}

func (b *Budget) hold(n int64) *Hold {
	b.used.Add(n)
	return &Hold{b: b, n: n}
}

// Hold is bytes held from a Budget. Its methods are safe for concurrent use and on a nil
// Hold (which holds nothing).
type Hold struct {
	b  *Budget
	mu sync.Mutex
	n  int64
}

// Size is the number of bytes still held.
func (h *Hold) Size() int64 {
	if h == nil {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Grow holds n more bytes if they are free now (it never waits: a holder that waits for
// more could wait for itself).
func (h *Hold) Grow(n int64) bool {
	if h == nil || n <= 0 {
		return n <= 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.b.sem.TryAcquire(n) {
		return false
	}
	h.b.used.Add(n)
	h.n += n
	return true
}

// Shrink gives back what is held beyond keep bytes.
func (h *Hold) Shrink(keep int64) {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if keep < 0 {
		keep = 0
	}
	if extra := h.n - keep; extra > 0 {
		h.n = keep
		h.b.used.Add(-extra)
		h.b.sem.Release(extra)
	}
}

// Release gives back everything held; later calls do nothing.
func (h *Hold) Release() { h.Shrink(0) }
