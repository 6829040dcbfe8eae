package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/models/ort"
)

// TestModelChangesAreAnnounced: two servers share a model repository and a database; a
// version activated through one (notifyingModels, what the ML-engineer routes call) is
// served by the other at once, though its poll interval is an hour; a change that fails
// announces nothing.
func TestModelChangesAreAnnounced(t *testing.T) {
	onnxtest.ORT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testenv.Pool(t, testenv.PG(t))
	repo := t.TempDir()
	for v := 1; v <= 2; v++ {
		dir := filepath.Join(repo, "offset", strconv.Itoa(v))
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, models.ModelFile), onnxtest.Offset(2, []float32{float32(v), float32(v)}, -1), 0o644)
		os.WriteFile(filepath.Join(dir, models.ManifestFile), []byte("task: offset\ninputs: [{name: input, type: float32, shape: [-1, 2]}]\n"+
			"outputs: [{name: output, type: float32, shape: [-1, 2]}]\n"), 0o644)
	}
	open := func() *models.Registry {
		r, err := models.Open(ctx, models.Options{Dir: repo})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r
	}
	changer, watcher := open(), open()
	if err := changer.Activate(ctx, "offset", "1"); err != nil {
		t.Fatal(err)
	}
	if err := watcher.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	wake := make(chan struct{}, 1)
	var heard atomic.Int64
	go listenNotify(ctx, pool, log, modelsChangedChannel, func() {
		heard.Add(1)
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	go watcher.Watch(ctx, time.Hour, wake)
	time.Sleep(300 * time.Millisecond) // the listener is connected

	served := func() string {
		res, err := watcher.Infer(ctx, "offset", map[string]ort.Tensor{"input": {Shape: []int64{1, 2}, Float32: []float32{0, 0}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Version
	}
	n := notifyingModels{Registry: changer, db: pool, log: log}
	if err := n.Activate(ctx, "offset", "9"); err == nil {
		t.Fatal("activating a version that does not exist succeeded")
	}
	time.Sleep(300 * time.Millisecond)
	if h := heard.Load(); h != 0 {
		t.Fatalf("a failed change was announced %d times", h)
	}
	start := time.Now()
	if err := n.Activate(ctx, "offset", "2"); err != nil {
		t.Fatal(err)
	}
	for served() != "2" {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the other server still serves version %s 5 s after the activation (announcements heard: %d)", served(), heard.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("served by the other server %v after the activation", time.Since(start).Round(time.Millisecond))
}
