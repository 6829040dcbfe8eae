package models

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/models/ort"
)

// batcher gathers concurrent requests into one session run. Each of its workers (one per
// concurrency slot) takes the first waiting request, then keeps taking requests until
// maxBatch rows are gathered or maxDelay has passed since the first, and runs them as
// one batch along the first axis.
type batcher struct {
	v        *version
	reqs     chan *batchReq
	maxBatch int64
	maxDelay time.Duration
	quit     chan struct{}
	wg       sync.WaitGroup
	once     sync.Once
}

type batchReq struct {
	ctx  context.Context
	in   map[string]ort.Tensor
	rows int64
	done chan batchRes
}

type batchRes struct {
	out map[string]ort.Tensor
	err error
}

func newBatcher(v *version, maxBatch int, maxDelay time.Duration, workers int) *batcher {
	b := &batcher{v: v, reqs: make(chan *batchReq), maxBatch: int64(maxBatch), maxDelay: maxDelay, quit: make(chan struct{})}
	for range workers {
		b.wg.Go(b.work)
	}
	return b
}

func (b *batcher) stop() {
	b.once.Do(func() { close(b.quit) })
	b.wg.Wait()
}

func (b *batcher) submit(ctx context.Context, in map[string]ort.Tensor, rows int64) (map[string]ort.Tensor, error) {
	r := &batchReq{ctx: ctx, in: in, rows: rows, done: make(chan batchRes, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.quit:
		return nil, fmt.Errorf("%w: %s/%s is closing", ErrUnavailable, b.v.m.Name, b.v.m.Version)
	}
	select {
	case res := <-r.done:
		return res.out, res.err
	case <-ctx.Done():
		// the batch still runs; its result for this request is dropped
		return nil, ctx.Err()
	}
}

func (b *batcher) work() {
	for {
		var first *batchReq
		select {
		case first = <-b.reqs:
		case <-b.quit:
			return
		}
		batch, rows := []*batchReq{first}, first.rows
		if rows < b.maxBatch && b.maxDelay > 0 {
			timer := time.NewTimer(b.maxDelay)
		gather:
			for rows < b.maxBatch {
				select {
				case r := <-b.reqs:
					batch, rows = append(batch, r), rows+r.rows
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
		}
		b.run(batch)
	}
}

// run executes one batch, skipping requests whose context is already done.
func (b *batcher) run(batch []*batchReq) {
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- batchRes{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if len(live) == 1 {
		out, err := b.v.run(context.Background(), live[0].in, int(live[0].rows))
		live[0].done <- batchRes{out, err}
		return
	}
	in, total := concat(b.v.m.Inputs, live)
	out, err := b.v.run(context.Background(), in, int(total))
	if err == nil {
		err = split(out, live, total)
	}
	if err != nil {
		for _, r := range live {
			r.done <- batchRes{err: err}
		}
	}
}

// concat joins the requests' inputs along the first axis.
func concat(specs []TensorSpec, reqs []*batchReq) (map[string]ort.Tensor, int64) {
	var total int64
	for _, r := range reqs {
		total += r.rows
	}
	in := make(map[string]ort.Tensor, len(specs))
	for _, s := range specs {
		shape := slices.Clone(reqs[0].in[s.Name].Shape)
		shape[0] = total
		var t ort.Tensor
		t.Shape = shape
		for _, r := range reqs {
			t.Float32 = append(t.Float32, r.in[s.Name].Float32...)
			t.Int64 = append(t.Int64, r.in[s.Name].Int64...)
		}
		in[s.Name] = t
	}
	return in, total
}

// split hands each request its rows of every output.
func split(out map[string]ort.Tensor, reqs []*batchReq, total int64) error {
	parts := make([]map[string]ort.Tensor, len(reqs))
	for i := range parts {
		parts[i] = make(map[string]ort.Tensor, len(out))
	}
	for name, t := range out {
		if len(t.Shape) == 0 || t.Shape[0] != total {
			return fmt.Errorf("models: batched output %q has shape %v for %d rows", name, t.Shape, total)
		}
		size := int64(max(len(t.Float32), len(t.Int64))) / total
		var off int64
		for i, r := range reqs {
			shape := slices.Clone(t.Shape)
			shape[0] = r.rows
			p := ort.Tensor{Shape: shape}
			if t.Float32 != nil {
				p.Float32 = t.Float32[off*size : (off+r.rows)*size : (off+r.rows)*size]
			}
			if t.Int64 != nil {
				p.Int64 = t.Int64[off*size : (off+r.rows)*size : (off+r.rows)*size]
			}
			parts[i][name] = p
			off += r.rows
		}
	}
	for i, r := range reqs {
		r.done <- batchRes{out: parts[i]}
	}
	return nil
}
