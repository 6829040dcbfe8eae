package models

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// Errors of the registry; the gateway maps them to HTTP statuses.
var (
	ErrNotFound    = errors.New("models: not found")
	ErrInvalid     = errors.New("models: invalid model")
	ErrUnavailable = errors.New("models: no version serving")
	ErrBadInput    = errors.New("models: bad input")
	ErrOverloaded  = errors.New("models: overloaded")
)

// File names inside a version folder.
const (
	ModelFile    = "model.onnx"
	ManifestFile = "manifest.yaml"
)

// TensorSpec is one input or output: name, element type and shape (-1 = dynamic).
type TensorSpec struct {
	Name  string  `yaml:"name" json:"name"`
	Type  string  `yaml:"type" json:"type"`
	Shape []int64 `yaml:"shape" json:"shape"`
}

// EvalSpec is a version's evaluation set: the task's Evaluator runs Set (a path relative
// to the version folder) and the version is refused below MinAccuracy or above MaxP99Ms.
type EvalSpec struct {
	Set         string  `yaml:"set" json:"set"`
	MinAccuracy float64 `yaml:"min_accuracy" json:"min_accuracy"`
	MaxP99Ms    float64 `yaml:"max_p99_ms" json:"max_p99_ms"`
}

// Batching enables dynamic batching for models whose inputs and outputs all have a
// dynamic first axis: requests queue until MaxBatch are waiting or the first has waited
// MaxDelay, then run as one batch.
type Batching struct {
	MaxBatch int           `yaml:"max_batch" json:"max_batch"`
	MaxDelay time.Duration `yaml:"max_delay" json:"max_delay"`
}

// Manifest describes one model version.
type Manifest struct {
	Task        string       `yaml:"task" json:"task"`
	Description string       `yaml:"description" json:"description,omitempty"`
	Inputs      []TensorSpec `yaml:"inputs" json:"inputs"`
	Outputs     []TensorSpec `yaml:"outputs" json:"outputs"`
	// Labels is a file of class names, one per line, relative to the version folder.
	Labels string `yaml:"labels" json:"labels,omitempty"`
	// Preprocess belongs to the stage that uses the model (vision reads it).
	Preprocess     yaml.Node `yaml:"preprocess" json:"-"`
	Eval           *EvalSpec `yaml:"eval" json:"eval,omitempty"`
	Batching       Batching  `yaml:"batching" json:"batching"`
	MaxConcurrency int       `yaml:"max_concurrency" json:"max_concurrency"`

	// Filled in when loaded from a repository.
	Name    string `yaml:"-" json:"name"`
	Version string `yaml:"-" json:"version"`
	Dir     string `yaml:"-" json:"-"`
}

// DecodePreprocess decodes the preprocess section into v (the stage's own type).
func (m *Manifest) DecodePreprocess(v any) error {
	if m.Preprocess.Kind == 0 {
		return nil
	}
	if err := m.Preprocess.Decode(v); err != nil {
		return fmt.Errorf("%w: %s/%s: preprocess: %v", ErrInvalid, m.Name, m.Version, err)
	}
	return nil
}

// Path resolves a path relative to the version folder.
func (m *Manifest) Path(rel string) string {
	if filepath.IsAbs(rel) {
		return rel
	}
	return filepath.Join(m.Dir, rel)
}

// yamlUnmarshal decodes strictly: an unknown key in a manifest is a mistake.
func yamlUnmarshal(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ValidName reports whether s may name a model.
func ValidName(s string) bool { return nameRe.MatchString(s) }

// ValidVersion reports whether s may name a version: a positive integer.
func ValidVersion(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && strconv.Itoa(n) == s
}

// ReadManifest reads and checks <dir>/manifest.yaml.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	var m Manifest
	if err := yamlUnmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, ManifestFile, err)
	}
	m.Dir = dir
	m.Version = filepath.Base(dir)
	m.Name = filepath.Base(filepath.Dir(dir))
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

func (m *Manifest) check() error {
	var problems []string
	if m.Task == "" {
		problems = append(problems, "task is empty")
	}
	if len(m.Inputs) == 0 || len(m.Outputs) == 0 {
		problems = append(problems, "inputs and outputs must be listed")
	}
	for _, s := range append(append([]TensorSpec(nil), m.Inputs...), m.Outputs...) {
		if s.Name == "" || s.Type == "" {
			problems = append(problems, "every input and output needs a name and a type")
			break
		}
	}
	if m.Batching.MaxBatch < 0 || m.Batching.MaxDelay < 0 || m.MaxConcurrency < 0 {
		problems = append(problems, "batching and max_concurrency must not be negative")
	}
	if m.Labels != "" {
		if _, err := os.Stat(m.Path(m.Labels)); err != nil {
			problems = append(problems, "labels: "+err.Error())
		}
	}
	if m.Eval != nil {
		if _, err := os.Stat(m.Path(m.Eval.Set)); err != nil {
			problems = append(problems, "eval set: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s/%s: %v", ErrInvalid, m.Name, m.Version, problems)
	}
	return nil
}

// batchable reports whether every input and output has a dynamic first axis.
func (m *Manifest) batchable() bool {
	for _, s := range append(append([]TensorSpec(nil), m.Inputs...), m.Outputs...) {
		if len(s.Shape) == 0 || s.Shape[0] != -1 {
			return false
		}
	}
	return true
}
