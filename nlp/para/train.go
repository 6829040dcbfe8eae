package para

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"
)

// ErrNoData means there is nothing to learn from: fewer than two groups with two texts.
var ErrNoData = errors.New("para: too few paraphrase groups to train on")

// Group is a set of texts that mean the same thing (the questions of one intent, or the
// two questions of a matching pair), with optional hard negatives: texts that look alike
// but mean something else (the non-matching pairs of a question-matching set).
type Group struct {
	Texts []string
	Hard  []string
}

// Options tune training; the zero value gives the defaults.
type Options struct {
	Dim         int     // vector length (default 192)
	Epochs      int     // passes over the texts (default 1; more when that is under 300 steps)
	Batch       int     // groups per step (default 64)
	LR          float64 // AdaGrad learning rate (default 0.03)
	Temperature float64 // of the in-batch softmax (default 0.07)
	Seed        uint64
	Workers     int // goroutines encoding a batch (default GOMAXPROCS)
	// MinMove is how far, relative to its length, a row must have moved from its
	// starting vector to be kept (default 0.25); the others fall back to it.
	MinMove float64
	// Progress, when set, is called about a hundred times in all, with the steps done,
	// the steps in all, and the mean loss of the steps since the last call.
	Progress func(done, total int, loss float64)
}

func (o *Options) defaults() {
	if o.Dim <= 0 {
		o.Dim = 192
	}
	if o.Epochs <= 0 {
		o.Epochs = 1
	}
	if o.Batch <= 1 {
		o.Batch = 64
	}
	if o.LR <= 0 {
		o.LR = 0.03
	}
	if o.Temperature <= 0 {
		o.Temperature = 0.07
	}
	if o.MinMove <= 0 {
		o.MinMove = 0.25
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

// commonDF is the document frequency from which a feature keeps its row (and so its
// low weight) even when training left the row near its start.
const commonDF = 20

// minSteps is the fewest steps a training runs, whatever the size of its corpus.
const minSteps = 300

// trainer holds the model's rows while they are learned: the features of the training
// texts, each with a row and its AdaGrad accumulators.
type trainer struct {
	dim  int
	slot map[uint64]int32
	df   []int
	idf  []float32 // per slot
	w    []float32
	acc  []float32
	lr   float32
}

func (t *trainer) featuresOf(text string) []int32 {
	fs := Features(text)
	out := make([]int32, len(fs))
	seen := map[int32]bool{}
	for i, f := range fs {
		s, ok := t.slot[f]
		if !ok {
			s = int32(len(t.slot))
			t.slot[f] = s
			t.df = append(t.df, 0)
			t.w = append(t.w, make([]float32, t.dim)...)
			t.acc = append(t.acc, make([]float32, t.dim)...)
			initRow(f, t.w[int(s)*t.dim:int(s+1)*t.dim])
		}
		if !seen[s] {
			seen[s] = true
			t.df[s]++
		}
		out[i] = s
	}
	return out
}

// weigh sets each feature's weight to its smoothed inverse document frequency over the
// n training texts and returns the weight of a feature no text had.
func (t *trainer) weigh(n int) float32 {
	t.idf = make([]float32, len(t.slot))
	for s := range t.df {
		t.idf[s] = idf(n, t.df[s])
	}
	return idf(n, 0)
}

func idf(n, df int) float32 {
	return float32(math.Log(float64(n+1)/float64(df+1)) + 1)
}

// encoded is one text of a batch: its features, its normalised vector and the length of
// its sum before normalising.
type encoded struct {
	feats []int32
	v     []float32
	norm  float32
}

func (t *trainer) encode(e *encoded) {
	if e.v == nil {
		e.v = make([]float32, t.dim)
	}
	clear(e.v)
	for _, s := range e.feats {
		row := t.w[int(s)*t.dim : int(s+1)*t.dim]
		w := t.idf[s]
		for i, x := range row {
			e.v[i] += w * x
		}
	}
	e.norm = normalize(e.v)
}

// Set is a named collection of paraphrase groups, such as one data set.
type Set struct {
	Name   string
	Groups []Group
}

// Train learns a Model that puts the texts of a group close together and apart from the
// other groups' texts: each step takes Batch groups of one set, two texts of each (and a
// hard negative where the group has one), and lowers the in-batch softmax cross-entropy
// of matching each first text to its partner among all the second texts and hard
// negatives, and each second text to its partner among the first texts. The sets take
// turns, so a small set weighs as much as a large one; an epoch is as many steps as it
// takes to draw every text of all sets once.
func Train(ctx context.Context, sets []Set, o Options) (*Model, error) {
	o.defaults()
	start := time.Now()
	t := &trainer{dim: o.Dim, slot: map[uint64]int32{}, lr: float32(o.LR)}
	type prepared struct {
		feats, hard [][][]int32
		order       []int
		batch       int
	}
	var ps []*prepared
	var names []string
	texts, groups := 0, 0
	for _, set := range sets {
		p := &prepared{}
		for _, g := range set.Groups {
			if len(g.Texts) < 2 {
				continue
			}
			var fs, hs [][]int32
			for _, s := range g.Texts {
				fs = append(fs, t.featuresOf(s))
			}
			for _, s := range g.Hard {
				hs = append(hs, t.featuresOf(s))
			}
			p.feats, p.hard = append(p.feats, fs), append(p.hard, hs)
			texts += len(g.Texts) + len(g.Hard)
		}
		if len(p.feats) < 2 {
			continue
		}
		p.batch = min(o.Batch, len(p.feats))
		p.order = make([]int, len(p.feats))
		for i := range p.order {
			p.order[i] = i
		}
		groups += len(p.feats)
		ps = append(ps, p)
		names = append(names, set.Name)
	}
	if len(ps) == 0 {
		return nil, ErrNoData
	}
	unseen := t.weigh(texts)
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9a7a))
	steps := max(len(ps), texts/(2*o.Batch))
	if o.Epochs*steps < minSteps { // a small corpus still gets enough steps to learn
		o.Epochs = (minSteps + steps - 1) / steps
	}
	st := newStep(t, o.Batch)
	every := max(1, o.Epochs*steps/100)
	var loss float64
	var since int
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		for step := range steps {
			if step%32 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			p := ps[step%len(ps)]
			st.draw(rng, p.order, p.batch, p.feats, p.hard)
			loss += st.run(o.Workers, float32(1/o.Temperature))
			since++
			if done := (epoch-1)*steps + step + 1; o.Progress != nil && (done%every == 0 || done == o.Epochs*steps) {
				o.Progress(done, o.Epochs*steps, loss/float64(since))
				loss, since = 0, 0
			}
		}
	}
	// a row that training moved little from its starting vector gets that vector
	// back for free (most features of rare words were never drawn at all): keeping
	// only the others shrinks the model several times over
	m := &Model{dim: o.Dim, slot: map[uint64]int32{}, unseenIDF: unseen}
	start0 := make([]float32, t.dim)
	for f, s := range t.slot {
		row := t.w[int(s)*t.dim : int(s+1)*t.dim]
		initRow(f, start0)
		var moved, base float64
		for i, x := range row {
			d := float64(x - start0[i])
			moved += d * d
			base += float64(start0[i]) * float64(start0[i])
		}
		// a common feature stays whatever it learned: without a row it would weigh as
		// much as a word never seen
		if moved >= o.MinMove*o.MinMove*base || t.df[s] >= commonDF {
			m.add(f, row, t.idf[s])
		}
	}
	m.Info = Info{Dim: o.Dim, TrainedOn: names, Groups: groups, Texts: texts, Features: m.Features(),
		Epochs: o.Epochs, Seconds: math.Round(time.Since(start).Seconds()*10) / 10}
	return m, nil
}

// step is one batch: anchors a[i], their partners b[i], and extra hard negatives that
// compete with the partners for the anchors.
type step struct {
	t    *trainer
	a, b []encoded
	hard []encoded
	na   int
	nh   int
	grad map[int32][]float32
}

func newStep(t *trainer, batch int) *step {
	return &step{t: t, a: make([]encoded, batch), b: make([]encoded, batch), hard: make([]encoded, batch),
		grad: map[int32][]float32{}}
}

func (s *step) reset() { s.na, s.nh = 0, 0 }

// draw fills the step with batch distinct groups, drawn by a partial shuffle of order:
// two different texts of each (a group of one text is its own partner) and, where the
// group has hard negatives, one of them.
func (s *step) draw(rng *rand.Rand, order []int, batch int, feats, hard [][][]int32) {
	for i := range batch {
		j := i + rng.IntN(len(order)-i)
		order[i], order[j] = order[j], order[i]
	}
	s.reset()
	for _, gi := range order[:batch] {
		fs := feats[gi]
		a, b := 0, 0
		if len(fs) > 1 {
			a = rng.IntN(len(fs))
			if b = rng.IntN(len(fs) - 1); b >= a {
				b++
			}
		}
		s.add(fs[a], fs[b])
		if hard != nil {
			if hs := hard[gi]; len(hs) > 0 {
				s.addHard(hs[rng.IntN(len(hs))])
			}
		}
	}
}

func (s *step) add(a, b []int32) {
	s.a[s.na].feats, s.b[s.na].feats = a, b
	s.na++
}

func (s *step) addHard(h []int32) {
	s.hard[s.nh].feats = h
	s.nh++
}

// run encodes the batch, computes the loss and its gradient, and applies AdaGrad to
// the rows involved; it returns the loss.
func (s *step) run(workers int, invTemp float32) float64 {
	n, nh := s.na, s.nh
	all := make([]*encoded, 0, 2*n+nh)
	for i := range n {
		all = append(all, &s.a[i], &s.b[i])
	}
	for i := range nh {
		all = append(all, &s.hard[i])
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(all); i += workers {
				s.t.encode(all[i])
			}
		}()
	}
	wg.Wait()
	cols := n + nh
	col := func(j int) *encoded {
		if j < n {
			return &s.b[j]
		}
		return &s.hard[j-n]
	}
	// logits[i][j] = a_i · col_j / T
	logits := make([]float64, n*cols)
	for i := range n {
		for j := range cols {
			logits[i*cols+j] = float64(dot(s.a[i].v, col(j).v) * invTemp)
		}
	}
	dl := make([]float64, n*cols) // dLoss/dlogit
	var loss float64
	// anchors choose among partners and hard negatives
	for i := range n {
		row := logits[i*cols : (i+1)*cols]
		p, lse := softmax(row)
		loss += lse - row[i]
		for j := range cols {
			g := p[j]
			if j == i {
				g--
			}
			dl[i*cols+j] += g / float64(2*n)
		}
	}
	// partners choose among anchors
	colv := make([]float64, n)
	for j := range n {
		for i := range n {
			colv[i] = logits[i*cols+j]
		}
		p, lse := softmax(colv)
		loss += lse - colv[j]
		for i := range n {
			g := p[i]
			if i == j {
				g--
			}
			dl[i*cols+j] += g / float64(2*n)
		}
	}
	// gradients on the normalised vectors
	dim := s.t.dim
	da := make([][]float32, n)
	dc := make([][]float32, cols)
	for i := range n {
		da[i] = make([]float32, dim)
	}
	for j := range cols {
		dc[j] = make([]float32, dim)
	}
	for i := range n {
		for j := range cols {
			g := float32(dl[i*cols+j]) * invTemp
			if g == 0 {
				continue
			}
			cv := col(j).v
			for k := range dim {
				da[i][k] += g * cv[k]
				dc[j][k] += g * s.a[i].v[k]
			}
		}
	}
	clear(s.grad)
	for i := range n {
		s.backprop(&s.a[i], da[i])
	}
	for j := range cols {
		s.backprop(col(j), dc[j])
	}
	s.apply()
	return loss / float64(2*n)
}

// backprop turns the gradient on a normalised vector into one on the sum, and adds it
// to each of the text's feature rows.
func (s *step) backprop(e *encoded, dv []float32) {
	if e.norm == 0 {
		return
	}
	proj := dot(dv, e.v)
	for k := range dv {
		dv[k] = (dv[k] - proj*e.v[k]) / e.norm
	}
	for _, f := range e.feats {
		g, ok := s.grad[f]
		if !ok {
			g = make([]float32, s.t.dim)
			s.grad[f] = g
		}
		w := s.t.idf[f]
		for k, x := range dv {
			g[k] += w * x
		}
	}
}

// apply takes one AdaGrad step on every row with a gradient.
func (s *step) apply() {
	dim := s.t.dim
	for f, g := range s.grad {
		w := s.t.w[int(f)*dim : int(f+1)*dim]
		acc := s.t.acc[int(f)*dim : int(f+1)*dim]
		for k, x := range g {
			acc[k] += x * x
			w[k] -= s.t.lr * x / (float32(math.Sqrt(float64(acc[k]))) + 1e-6)
		}
	}
}

// softmax returns the probabilities of xs and the log of the sum of their exponentials.
func softmax(xs []float64) ([]float64, float64) {
	m := math.Inf(-1)
	for _, x := range xs {
		m = max(m, x)
	}
	p := make([]float64, len(xs))
	var sum float64
	for i, x := range xs {
		p[i] = math.Exp(x - m)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p, m + math.Log(sum)
}

// String describes the model in one line.
func (i Info) String() string {
	s := fmt.Sprintf("paraphrase encoder (dim %d, %d learned features) trained on %v: %d groups, %d texts, %d epochs, %.1f s",
		i.Dim, i.Features, i.TrainedOn, i.Groups, i.Texts, i.Epochs, i.Seconds)
	if i.AdaptedTo > 0 {
		s += fmt.Sprintf("; adapted to an FAQ of %d entries", i.AdaptedTo)
	}
	return s
}
