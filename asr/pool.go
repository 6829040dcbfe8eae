package asr

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Pool keeps up to size recognizers of one engine, all made with the same options, and
// lends them out one caller at a time. When all are in use, up to queue callers wait, each
// at most the queue timeout; any further caller, and a waiter whose timeout passes, gets
// ErrBusy at once. Memory is therefore bounded by size recognizers plus queue waiting
// goroutines, whatever the load. Recognizers are made lazily and reset on return.
type Pool struct {
	engine Engine
	opts   RecognizerOptions
	queue  int
	wait   time.Duration
	tokens chan struct{} // one token per recognizer in use

	mu      sync.Mutex
	idle    []Recognizer
	waiting int
	closed  bool
}

// PoolStats is a snapshot of a pool's occupancy, for gauges and readiness reports.
type PoolStats struct {
	Size    int `json:"size"`
	InUse   int `json:"in_use"`
	Idle    int `json:"idle"`
	Waiting int `json:"waiting"`
	Queue   int `json:"queue"`
}

// NewPool makes a pool of at most size recognizers (at least 1) with a wait queue of
// queue callers (0: no waiting, busy at once) who wait at most wait each (wait ≤ 0: as
// long as their context allows).
func NewPool(e Engine, size, queue int, wait time.Duration, opts RecognizerOptions) *Pool {
	size = max(size, 1)
	return &Pool{
		engine: e,
		opts:   opts,
		queue:  max(queue, 0),
		wait:   wait,
		tokens: make(chan struct{}, size),
	}
}

// Engine is the pool's engine.
func (p *Pool) Engine() Engine { return p.engine }

// Stats reports the pool's occupancy.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PoolStats{Size: cap(p.tokens), InUse: len(p.tokens), Idle: len(p.idle), Waiting: p.waiting, Queue: p.queue}
}

// Acquire lends a recognizer; release, which must be called exactly once (extra calls
// are ignored), resets it and returns it to the pool. Errors: ErrBusy (wrapped) under
// back-pressure, the context's error, ErrClosed, or the engine's error making one.
func (p *Pool) Acquire(ctx context.Context) (Recognizer, func(), error) {
	if err := p.take(ctx); err != nil {
		return nil, nil, err
	}
	rec, err := p.recognizer(ctx)
	if err != nil {
		<-p.tokens
		return nil, nil, err
	}
	var once sync.Once
	return rec, func() { once.Do(func() { p.put(rec) }) }, nil
}

// take gets a token: at once when one is free, else by queueing within the limits.
func (p *Pool) take(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case p.tokens <- struct{}{}:
		return nil
	default:
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if p.waiting >= p.queue {
		inUse, waiting := len(p.tokens), p.waiting
		p.mu.Unlock()
		return fmt.Errorf("%w: %d of %d in use, %d of %d queued", ErrBusy, inUse, cap(p.tokens), waiting, p.queue)
	}
	p.waiting++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.waiting--
		p.mu.Unlock()
	}()
	var timeout <-chan time.Time
	if p.wait > 0 {
		t := time.NewTimer(p.wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case p.tokens <- struct{}{}:
		return nil
	case <-timeout:
		return fmt.Errorf("%w: no recognizer free within %s", ErrBusy, p.wait)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recognizer returns an idle recognizer or makes one; the caller holds a token.
func (p *Pool) recognizer(ctx context.Context) (Recognizer, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		rec := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return rec, nil
	}
	p.mu.Unlock()
	return p.engine.NewRecognizer(ctx, p.opts)
}

// put resets rec and keeps it, or closes it when the reset fails or the pool is closed,
// then frees its token.
func (p *Pool) put(rec Recognizer) {
	defer func() { <-p.tokens }()
	if err := rec.Reset(); err != nil {
		_ = rec.Close()
		return
	}
	p.mu.Lock()
	if !p.closed {
		p.idle = append(p.idle, rec)
		rec = nil
	}
	p.mu.Unlock()
	if rec != nil {
		_ = rec.Close()
	}
}

// Transcribe decodes a whole recording of 16 kHz mono PCM with a pooled recognizer: in
// one pass when the recognizer is a BatchDecoder, else streamed in chunks of half a
// second (the context is checked between them) with the utterances the engine finds
// joined into one result.
func (p *Pool) Transcribe(ctx context.Context, pcm []int16) (Result, error) {
	rec, release, err := p.Acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	defer release()
	return Transcribe(ctx, p.engine, rec, pcm, 0)
}

// Transcribe decodes pcm with rec and returns the stream's joined result labelled with
// e's name and language: streamed in chunks of chunk samples, or, when chunk ≤ 0, in one
// pass if rec is a BatchDecoder and in chunks of half a second if not.
func Transcribe(ctx context.Context, e Engine, rec Recognizer, pcm []int16, chunk int) (Result, error) {
	if chunk <= 0 {
		if b, ok := rec.(BatchDecoder); ok {
			res, err := b.DecodeAll(ctx, pcm)
			if err != nil {
				return Result{}, err
			}
			res.Engine, res.Language = e.Name(), e.Language()
			return res, nil
		}
		chunk = SampleRate / 2
	}
	return transcribe(ctx, rec, pcm, chunk, e)
}

func transcribe(ctx context.Context, rec Recognizer, pcm []int16, chunk int, e Engine) (Result, error) {
	out := Result{Engine: e.Name(), Language: e.Language()}
	for off := 0; off < len(pcm); off += chunk {
		if err := ctx.Err(); err != nil {
			return Result{}, errors.Join(err, rec.Reset())
		}
		_, fin, err := rec.Accept(pcm[off:min(off+chunk, len(pcm))])
		if err != nil {
			return Result{}, errors.Join(err, rec.Reset())
		}
		if fin != nil {
			out.Append(*fin)
		}
	}
	fin, err := rec.Final()
	if err != nil {
		return Result{}, err
	}
	out.Append(fin)
	return out, nil
}

// Close closes the idle recognizers and makes later Acquire calls fail with ErrClosed;
// recognizers still lent out are closed when released. The engine stays open: its owner
// closes it.
func (p *Pool) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closed = true
	p.mu.Unlock()
	var errs []error
	for _, rec := range idle {
		errs = append(errs, rec.Close())
	}
	return errors.Join(errs...)
}
