package safe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrPanic wraps every panic a Guard recovered.
var ErrPanic = errors.New("recovered panic")

// Guard recovers panics of background goroutines: it logs each with its stack and
// counts it by where it happened. A nil Guard still recovers, logging through
// slog.Default and counting nothing, so a goroutine that was not wired with one is
// protected all the same.
type Guard struct {
	log    *slog.Logger
	panics *prometheus.CounterVec
}

// New returns a Guard logging to log and counting on reg (nil: not exported). Guards made
// on the same registry share one switchboard_panics_total.
func New(reg prometheus.Registerer, log *slog.Logger) *Guard {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_panics_total",
		Help: "Panics recovered in background goroutines, by where they happened."}, []string{"where"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
			c = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &Guard{log: log, panics: c}
}

// Expect exports the panic counter of each where as 0 before any panic, so an alert on
// its increase sees the first one.
func (g *Guard) Expect(where ...string) {
	if g == nil || g.panics == nil {
		return
	}
	for _, w := range where {
		g.panics.WithLabelValues(w)
	}
}

// Recover must be deferred directly: `defer g.Recover("worker", &err)`. On a panic it
// logs the value and the stack, counts it under where and, if errp is not nil, sets
// *errp to an error wrapping ErrPanic.
func (g *Guard) Recover(where string, errp *error) {
	r := recover()
	if r == nil {
		return
	}
	err := fmt.Errorf("%w in %s: %v", ErrPanic, where, r)
	g.logger().Error("recovered a panic", "where", where, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	if g != nil && g.panics != nil {
		g.panics.WithLabelValues(where).Inc()
	}
	if errp != nil {
		*errp = err
	}
}

// Run calls fn and returns the panic it raised as an error (nil when it returned).
func (g *Guard) Run(where string, fn func()) (err error) {
	defer g.Recover(where, &err)
	fn()
	return nil
}

// Go runs fn in a new goroutine, recovering a panic.
func (g *Guard) Go(where string, fn func()) {
	go func() {
		defer g.Recover(where, nil)
		fn()
	}()
}

func (g *Guard) logger() *slog.Logger {
	if g == nil || g.log == nil {
		return slog.Default()
	}
	return g.log
}

// Restart runs loop, a long-running loop that returns when ctx ends, until ctx
// ends: a panic is recovered (logged and counted under where) and loop starts
// again after wait.
func Restart(ctx context.Context, g *Guard, where string, wait time.Duration, loop func()) {
	for ctx.Err() == nil {
		if g.Run(where, loop) == nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}
