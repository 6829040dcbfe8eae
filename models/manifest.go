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
	m := &Manifest{Dir: dir, Version: filepath.Base(dir), Name: filepath.Base(filepath.Dir(dir))}
	data, err := m.ReadFile(ManifestFile, MaxManifestFile)
	if err != nil {
		return nil, err
	}
	if err := m.decode(data); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseManifest decodes and checks a manifest held in memory, without the files it names.
func ParseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{}
	if err := yamlUnmarshal(data, m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, ManifestFile, err)
	}
	if err := m.checkFields(); err != nil {
		return nil, err
	}
	return m, nil
}

// decode fills m (whose Dir, Name and Version are set) from data and checks it, the
// files it names included.
func (m *Manifest) decode(data []byte) error {
	p, err := ParseManifest(data)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", m.Name, m.Version, err)
	}
	p.Dir, p.Name, p.Version = m.Dir, m.Name, m.Version
	*m = *p
	return m.checkFiles()
}

// checkFields checks what the manifest says, without touching the disk.
func (m *Manifest) checkFields() error {
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
	if m.Eval != nil && m.Eval.Set == "" {
		problems = append(problems, "eval: set is empty")
	}
	for _, f := range m.named() {
		if err := localName(f.field, f.name); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %v", ErrInvalid, problems)
	}
	return nil
}

// checkFiles checks that the files the manifest names are regular files inside m.Dir.
func (m *Manifest) checkFiles() error {
	root, err := os.OpenRoot(m.Dir)
	if err != nil {
		return fmt.Errorf("%w: %s/%s: %v", ErrInvalid, m.Name, m.Version, err)
	}
	defer root.Close()
	var problems []string
	for _, f := range m.named() {
		fi, err := root.Stat(f.name)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s %q: %v", f.field, f.name, pathErr(err)))
		case !fi.Mode().IsRegular():
			problems = append(problems, fmt.Sprintf("%s %q is not a regular file", f.field, f.name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s/%s: %v", ErrInvalid, m.Name, m.Version, problems)
	}
	return nil
}

type namedFile struct{ field, name string }

// named are the files the manifest names, with the key that names each.
func (m *Manifest) named() []namedFile {
	var out []namedFile
	if m.Labels != "" {
		out = append(out, namedFile{"labels", m.Labels})
	}
	if m.Eval != nil && m.Eval.Set != "" {
		out = append(out, namedFile{"eval.set", m.Eval.Set})
	}
	return out
}

func (m *Manifest) id() string { return m.Name + "/" + m.Version }

// files are the extra files a manifest names.
func (m *Manifest) files() []string {
	var out []string
	for _, f := range m.named() {
		out = append(out, f.name)
	}
	return out
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
