package vision

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
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

// Options configure a Classifier.
type Options struct {
	Model      string // the model's name in the repository
	Limits     Limits
	TopK       int // labels kept (default 5)
	Categories Categories
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
	// pixels and tensor come from pools: a photo allocates a megabyte or more, and
	// fresh memory costs page faults and collections on the request path
	pix := pixPool.Get().(*[]byte)
	defer pixPool.Put(pix)
	img, format, err := decodeFor(data, c.opts.Limits, prep.pre.minShortSide(), *pix)
	if err != nil {
		return Result{}, err
	}
	if m, ok := img.(*image.RGBA); ok && cap(m.Pix) > cap(*pix) {
		*pix = m.Pix[:0] // keep the larger buffer for the next photo
	}
	buf := tensorPool.Get().(*[]float32)
	defer tensorPool.Put(buf)
	tensor, err := prep.pre.AppendTensor((*buf)[:0], img)
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
	b := img.Bounds()
	return Result{Labels: labels, Categories: c.opts.Categories.Of(labels), Model: res.Model, Version: res.Version,
		Format: format, Width: b.Dx(), Height: b.Dy(), Millis: float64(time.Since(start).Microseconds()) / 1000}, nil
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
		if p.labels, err = LoadLabels(m.Path(m.Labels)); err != nil {
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
		if labels, err = LoadLabels(m.Path(m.Labels)); err != nil {
			return models.EvalResult{}, err
		}
	}
	setPath := m.Path(m.Eval.Set)
	rows, err := readEvalSet(setPath)
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
		imgPath := row[0]
		if !filepath.IsAbs(imgPath) {
			imgPath = filepath.Join(filepath.Dir(setPath), imgPath)
		}
		data, err := os.ReadFile(imgPath)
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

func readEvalSet(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	var rows [][]string
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rows) == 0 && strings.EqualFold(rec[0], "image") {
			continue // header
		}
		rows = append(rows, rec)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	return rows, nil
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
