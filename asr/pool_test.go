package asr

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeEngine makes fakeRecs and counts them.
type fakeEngine struct {
	mu       sync.Mutex
	made     int
	closed   int
	newErr   error
	resetErr error
}

func (f *fakeEngine) Name() string     { return "fake" }
func (f *fakeEngine) Language() string { return "en" }
func (f *fakeEngine) Close() error     { return nil }

func (f *fakeEngine) NewRecognizer(ctx context.Context, opts RecognizerOptions) (Recognizer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.newErr != nil {
		return nil, f.newErr
	}
	f.made++
	return &fakeRec{e: f, id: f.made}, nil
}

// fakeRec "recognizes" the number of samples of each utterance; a chunk holding the
// sample -1 ends an utterance.
type fakeRec struct {
	e       *fakeEngine
	id      int
	samples int
	closed  bool
}

func (r *fakeRec) Accept(pcm []int16) (string, *Result, error) {
	if r.closed {
		return "", nil, ErrClosed
	}
	r.samples += len(pcm)
	for _, s := range pcm {
		if s == -1 {
			res := Result{Text: fmt.Sprintf("utt%d", r.samples)}
			r.samples = 0
			return "", &res, nil
		}
	}
	return fmt.Sprintf("partial%d", r.samples), nil, nil
}

func (r *fakeRec) Final() (Result, error) {
	res := Result{Text: fmt.Sprintf("final%d", r.samples)}
	r.samples = 0
	return res, nil
}

func (r *fakeRec) Reset() error {
	r.samples = 0
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	return r.e.resetErr
}

func (r *fakeRec) Close() error {
	r.e.mu.Lock()
	defer r.e.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.e.closed++
	}
	return nil
}

func (f *fakeEngine) counts() (made, closed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.made, f.closed
}

// checkNoLeak fails when goroutines started during the test are still running.
func checkNoLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines left running (was %d):\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
	})
}

func TestPoolBackPressure(t *testing.T) {
	checkNoLeak(t)
	ctx := context.Background()
	f := &fakeEngine{}
	const wait = 300 * time.Millisecond
	p := NewPool(f, 2, 1, wait, RecognizerOptions{})
	defer p.Close()

	_, rel1, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, rel2, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The third caller queues (queue 1) and times out after wait.
	third := make(chan error, 1)
	var thirdTook time.Duration
	go func() {
		start := time.Now()
		_, rel, err := p.Acquire(ctx)
		thirdTook = time.Since(start)
		if err == nil {
			rel()
		}
		third <- err
	}()
	waitFor(t, func() bool { return p.Stats().Waiting == 1 })

	// The fourth finds the queue full: busy at once.
	start := time.Now()
	_, _, err = p.Acquire(ctx)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("fourth Acquire: %v, want ErrBusy", err)
	}
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("fourth Acquire took %v to fail; back-pressure must be immediate", took)
	}
	if err := <-third; !errors.Is(err, ErrBusy) {
		t.Fatalf("queued Acquire: %v, want ErrBusy after the queue timeout", err)
	}
	if thirdTook < wait || thirdTook > wait+time.Second {
		t.Errorf("queued Acquire gave up after %v, want about %v", thirdTook, wait)
	}

	// A waiter is served as soon as a recognizer comes back, and gets the same one.
	served := make(chan Recognizer, 1)
	go func() {
		rec, rel, err := p.Acquire(ctx)
		if err != nil {
			t.Errorf("waiter: %v", err)
			served <- nil
			return
		}
		served <- rec
		rel()
	}()
	waitFor(t, func() bool { return p.Stats().Waiting == 1 })
	rel1()
	rel1() // a second release is ignored
	if rec := <-served; rec == nil {
		t.Fatal("waiter not served")
	}
	rel2()
	if made, _ := f.counts(); made != 2 {
		t.Errorf("engine made %d recognizers for a pool of 2", made)
	}
	waitFor(t, func() bool { return p.Stats() == PoolStats{Size: 2, Idle: 2, Queue: 1} })
}

func TestPoolContextAndErrors(t *testing.T) {
	checkNoLeak(t)
	f := &fakeEngine{}
	p := NewPool(f, 1, 4, 0, RecognizerOptions{}) // waiters wait as long as their context allows
	_, rel, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := p.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire with an expiring context: %v", err)
	}
	rel()

	// A recognizer whose reset fails is closed, not reused.
	f.resetErr = errors.New("broken")
	_, rel, _ = p.Acquire(context.Background())
	rel()
	if _, closed := f.counts(); closed != 1 {
		t.Errorf("closed %d recognizers after a failed reset, want 1", closed)
	}
	f.resetErr = nil

	// An engine error frees the token.
	f.newErr = ErrUnavailable
	if _, _, err := p.Acquire(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Acquire with a failing engine: %v", err)
	}
	if s := p.Stats(); s.InUse != 0 {
		t.Errorf("token leaked: %+v", s)
	}
	f.newErr = nil

	// Close: idle recognizers closed, lent ones closed on release, Acquire refused.
	_, relA, _ := p.Acquire(context.Background())
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	relA()
	made, closed := f.counts()
	if made != closed {
		t.Errorf("after Close and release: made %d, closed %d", made, closed)
	}
	if _, _, err := p.Acquire(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close: %v", err)
	}
}

func TestPoolTranscribe(t *testing.T) {
	checkNoLeak(t)
	f := &fakeEngine{}
	p := NewPool(f, 2, 2, time.Second, RecognizerOptions{})
	defer p.Close()
	pcm := make([]int16, 20000)
	pcm[9000] = -1 // ends an utterance in the second chunk of 8000
	got, err := p.Transcribe(context.Background(), pcm)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Text: "utt16000 final4000", Engine: "fake", Language: "en"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Transcribe (-want +got):\n%s", diff)
	}

	// Many concurrent callers on a small pool: each either transcribes or is told busy.
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for range 20 {
		wg.Go(func() {
			_, err := p.Transcribe(context.Background(), pcm)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				outcomes["ok"]++
			case errors.Is(err, ErrBusy):
				outcomes["busy"]++
			default:
				t.Errorf("Transcribe: %v", err)
			}
		})
	}
	wg.Wait()
	if outcomes["ok"] == 0 || outcomes["ok"]+outcomes["busy"] != 20 {
		t.Errorf("outcomes %v", outcomes)
	}
	if made, _ := f.counts(); made > 2 {
		t.Errorf("made %d recognizers for a pool of 2", made)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Transcribe(ctx, pcm); !errors.Is(err, context.Canceled) {
		t.Errorf("Transcribe with a cancelled context: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 2 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestResultAppend(t *testing.T) {
	r := Result{}
	r.Append(Result{Text: "  ", Engine: "e", Language: "en"})
	r.Append(Result{Text: "hello", Words: []Word{{Word: "hello", Start: 0.1, End: 0.4, Conf: 1}}})
	r.Append(Result{Text: "world ", Words: []Word{{Word: "world", Start: 1, End: 1.3, Conf: 0.5}}})
	want := Result{Text: "hello world", Engine: "e", Language: "en", Words: []Word{
		{Word: "hello", Start: 0.1, End: 0.4, Conf: 1}, {Word: "world", Start: 1, End: 1.3, Conf: 0.5}}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Append (-want +got):\n%s", diff)
	}
}
