package vision

import (
	"context"
	"fmt"
	"image"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/ort"
)

// Task is the manifest task the classifier serves.
const Task = "image-classification"

// Registry is what the classifier needs of the model registry: a version leased for one
// request, so that the preprocessing of that version's manifest feeds that version.
type Registry interface {
	Acquire(name string) (*models.Lease, error)
}

// MemoryLimiter bounds the memory of decodes running at once (the gateway's media
// budget): Acquire holds n bytes until release is called, waiting while they are in use
// by others, and fails when they do not free up in time.
type MemoryLimiter interface {
	Acquire(ctx context.Context, n int64) (release func(), err error)
}

// Options configure a Classifier.
type Options struct {
	Model      string // the model's name in the repository
	Limits     Limits
	TopK       int // labels kept (default 5)
	Categories Categories
	// Memory, when set, holds each image's DecodeCost from before its decode until its
	// tensor is built.
	Memory MemoryLimiter
}

// Classifier labels images with a registry model: decode (with limits), preprocess per
// the serving version's manifest, infer, top-k labels and support categories.
type Classifier struct {
	reg  Registry
	opts Options
	pre  sync.Map // *models.Manifest → *preparedVersion
}

// NewClassifier returns a Classifier over reg.
func NewClassifier(reg Registry, opts Options) *Classifier {
	if opts.TopK <= 0 {
		opts.TopK = 5
	}
	opts.Limits = opts.Limits.withDefaults()
	return &Classifier{reg: reg, opts: opts}
}

// Model is the name of the model the classifier uses.
func (c *Classifier) Model() string { return c.opts.Model }

var (
	pixPool    = sync.Pool{New: func() any { return new([]byte) }}
	tensorPool = sync.Pool{New: func() any { return new([]float32) }}
)

// maxPooledPix is the largest pixel buffer kept for the next photo: larger ones (a model
// that wants big inputs, a huge JPEG decoded at full size) go back to the collector
// rather than sitting outside any memory budget.
const maxPooledPix = 16 << 20

// Result is one image's classification.
type Result struct {
	Labels     []Label  `json:"labels"`
	Categories []string `json:"categories,omitempty"`
	Model      string   `json:"model"`
	Version    string   `json:"version"`
	Format     string   `json:"format"`
	Width      int      `json:"width"`
	Height     int      `json:"height"`
	Millis     float64  `json:"ms"`
}

// Classify decodes data and classifies it. Bad or oversized images fail with ErrImage or
// ErrTooLarge before any inference runs.
func (c *Classifier) Classify(ctx context.Context, data []byte) (Result, error) {
	start := time.Now()
	if _, _, _, err := CheckHeader(data, c.opts.Limits); err != nil {
		return Result{}, err
	}
	lease, err := c.reg.Acquire(c.opts.Model)
	if err != nil {
		return Result{}, err
	}
	defer lease.Release()
	m := lease.Manifest()
	prep, err := c.prepared(m)
	if err != nil {
		return Result{}, err
	}
	buf := tensorPool.Get().(*[]float32)
	defer tensorPool.Put(buf)
	tensor, b, format, err := c.tensor(ctx, data, prep, (*buf)[:0])
	if err != nil {
		return Result{}, err
	}
	*buf = tensor[:0]
	shape := prep.pre.Shape(1)
	res, err := lease.Infer(ctx, map[string]ort.Tensor{m.Inputs[0].Name: {Shape: shape, Float32: tensor}})
	if err != nil {
		return Result{Model: res.Model, Version: res.Version}, err
	}
	labels := c.opts.Categories.Apply(TopK(res.Outputs[m.Outputs[0].Name].Float32, c.opts.TopK, prep.labels))
	return Result{Labels: labels, Categories: c.opts.Categories.Of(labels), Model: res.Model, Version: res.Version,
		Format: format, Width: b.Dx(), Height: b.Dy(), Millis: float64(time.Since(start).Microseconds()) / 1000}, nil
}

// tensor decodes data and appends its input tensor to dst, holding the decode's memory
// (Options.Memory) until the pixels are no longer needed. It returns the tensor, the
// image's bounds and format.
func (c *Classifier) tensor(ctx context.Context, data []byte, prep *preparedVersion, dst []float32) ([]float32, image.Rectangle, string, error) {
	minShort := prep.pre.minShortSide()
	if c.opts.Memory != nil {
		cost, err := DecodeCost(data, c.opts.Limits, minShort)
		if err != nil {
			return nil, image.Rectangle{}, "", err
		}
		release, err := c.opts.Memory.Acquire(ctx, cost)
		if err != nil {
			return nil, image.Rectangle{}, "", err
		}
		defer release()
	}
	// pixels and tensor come from pools: a photo allocates a megabyte or more, and
	// fresh memory costs page faults and collections on the request path
	pix := pixPool.Get().(*[]byte)
	defer pixPool.Put(pix)
	img, format, err := decodeFor(ctx, data, c.opts.Limits, minShort, *pix)
	if err != nil {
		return nil, image.Rectangle{}, format, err
	}
	if m, ok := img.(*image.RGBA); ok && cap(m.Pix) > cap(*pix) && cap(m.Pix) <= maxPooledPix {
		*pix = m.Pix[:0] // keep the larger buffer for the next photo
	}
	tensor, err := prep.pre.AppendTensor(dst, img)
	return tensor, img.Bounds(), format, err
}

// preparedVersion is what a version's manifest says about images: its preprocessing
// and its class names.
type preparedVersion struct {
	pre    *Preprocess
	labels []string
}

// prepared reads (once per version) the manifest's preprocess section and labels.
func (c *Classifier) prepared(m *models.Manifest) (*preparedVersion, error) {
	if p, ok := c.pre.Load(m); ok {
		return p.(*preparedVersion), nil
	}
	pre, err := manifestPreprocess(m)
	if err != nil {
		return nil, err
	}
	p := &preparedVersion{pre: pre}
	if m.Labels != "" {
		if p.labels, err = ManifestLabels(m); err != nil {
			return nil, err
		}
	}
	c.pre.Store(m, p)
	return p, nil
}

func manifestPreprocess(m *models.Manifest) (*Preprocess, error) {
	if m.Task != Task {
		return nil, fmt.Errorf("%w: %s/%s has task %q, not %s", models.ErrInvalid, m.Name, m.Version, m.Task, Task)
	}
	var p Preprocess
	if err := m.DecodePreprocess(&p); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s/%s: preprocess: %v", models.ErrInvalid, m.Name, m.Version, err)
	}
	if len(m.Inputs) != 1 || m.Inputs[0].Type != "float32" || len(m.Outputs) == 0 || m.Outputs[0].Type != "float32" {
		return nil, fmt.Errorf("%w: %s/%s: an image classifier takes one float32 input and gives float32 scores", models.ErrInvalid, m.Name, m.Version)
	}
	return &p, nil
}

// Evaluator runs an image-classification model's evaluation set for the registry: a CSV
// with columns image (a path relative to the CSV) and label (a class index, or a name
// from the labels file); it reports top-1 accuracy and the p99 latency of inference.
type Evaluator struct {
	Limits Limits
}

// Evaluate implements models.Evaluator.
func (e Evaluator) Evaluate(ctx context.Context, m *models.Manifest, infer models.InferFunc) (models.EvalResult, error) {
	pre, err := manifestPreprocess(m)
	if err != nil {
		return models.EvalResult{}, err
	}
	var labels []string
	if m.Labels != "" {
		if labels, err = ManifestLabels(m); err != nil {
			return models.EvalResult{}, err
		}
	}
	setPath := m.Eval.Set
	rows, err := readEvalSet(m)
	if err != nil {
		return models.EvalResult{}, err
	}
	var res models.EvalResult
	var lat []float64
	hits := 0
	for _, row := range rows {
		want, err := labelIndex(row[1], labels)
		if err != nil {
			return res, fmt.Errorf("%s: %w", setPath, err)
		}
		data, err := m.ReadFile(evalImage(setPath, row[0]), e.Limits.withDefaults().MaxBytes)
		if err != nil {
			return res, err
		}
		img, _, err := DecodeFor(data, e.Limits.withDefaults(), pre.minShortSide())
		if err != nil {
			return res, fmt.Errorf("%s: %w", row[0], err)
		}
		tensor, shape, err := pre.Tensor(img)
		if err != nil {
			return res, err
		}
		start := time.Now()
		out, err := infer(ctx, map[string]ort.Tensor{m.Inputs[0].Name: {Shape: shape, Float32: tensor}})
		if err != nil {
			return res, err
		}
		lat = append(lat, float64(time.Since(start).Microseconds())/1000)
		if top := TopK(out[m.Outputs[0].Name].Float32, 1, labels); len(top) == 1 && top[0].Index == want {
			hits++
		}
	}
	res.N = len(rows)
	res.Accuracy = float64(hits) / float64(len(rows))
	slices.Sort(lat)
	res.P99Ms = lat[min(len(lat)-1, int(0.99*float64(len(lat))))]
	return res, nil
}

func labelIndex(s string, labels []string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	for i, l := range labels {
		if strings.EqualFold(l, s) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("label %q is neither a class index nor in the labels file", s)
}
