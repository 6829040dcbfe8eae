package safe

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestGuardRecoversLogsAndCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	g := New(reg, slog.New(slog.NewTextHandler(&logs, nil)))
	again := New(reg, slog.New(slog.DiscardHandler)) // a second Guard on the same registry shares the counter
	for _, tc := range []struct {
		name    string
		g       *Guard
		fn      func()
		wantErr bool
	}{
		{"returns", g, func() {}, false},
		{"panics with a string", g, func() { panic("boom") }, true},
		{"panics with an error", again, func() { panic(errors.New("bad")) }, true},
		{"nil guard", nil, func() { var m map[string]int; m["x"] = 1 }, true},
	} {
		err := tc.g.Run("test", tc.fn)
		if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, ErrPanic)) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
	if n := testutil.ToFloat64(g.panics.WithLabelValues("test")); n != 2 {
		t.Errorf("switchboard_panics_total{where=test} = %v, want 2", n)
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), "recover_test.go") {
		t.Errorf("the log lacks the panic or its stack:\n%s", logs.String())
	}
}

func TestGoRecoversInItsGoroutine(t *testing.T) {
	g := New(nil, slog.New(slog.DiscardHandler))
	g.Go("bg", func() { panic("in a goroutine") })
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(g.panics.WithLabelValues("bg")) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the goroutine's panic was not counted")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRestartRunsAgainAfterAPanic(t *testing.T) {
	g := New(nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	Restart(ctx, g, "loop", time.Millisecond, func() {
		runs++
		if runs < 3 {
			panic("a bad pass")
		}
		cancel() // a loop returns when its context ends
	})
	if runs != 3 || testutil.ToFloat64(g.panics.WithLabelValues("loop")) != 2 {
		t.Fatalf("ran %d times, counted %v panics; want 3 and 2", runs, testutil.ToFloat64(g.panics.WithLabelValues("loop")))
	}
}
