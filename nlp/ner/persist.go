package ner

import (
	"fmt"
	"io"

	"github.com/switchboard-cs/switchboard/internal/savefile"
)

// magic starts every model file; the version after it changes with the features.
const magic = "SBNER003"

// file is a model as stored.
type file struct {
	Types   []string
	Keys    []uint64
	Weights []float32
	Trans   []float32
	Info    Info
}

// WriteTo writes the model.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	f := file{Types: m.types, Keys: make([]uint64, len(m.index)), Weights: m.weights, Trans: m.trans, Info: m.Info}
	for k, row := range m.index {
		f.Keys[row] = k
	}
	return savefile.WriteGob(w, magic, f)
}

// Read reads a model WriteTo wrote.
func Read(r io.Reader) (*Model, error) {
	var f file
	if err := savefile.ReadGob(r, magic, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	nt := numTags(len(f.Types))
	if len(f.Types) == 0 || len(f.Weights) != len(f.Keys)*nt || len(f.Trans) != (nt+1)*nt {
		return nil, fmt.Errorf("%w: inconsistent sizes", ErrFormat)
	}
	m := &Model{types: f.Types, index: make(map[uint64]int32, len(f.Keys)), weights: f.Weights, trans: f.Trans, Info: f.Info}
	for i, k := range f.Keys {
		m.index[k] = int32(i)
	}
	m.lookup = newTable(m.index, m.weights, nt)
	return m, nil
}

// Save writes the model to path atomically.
func (m *Model) Save(path string) error {
	return savefile.Save(path, m)
}

// Load reads the model at path.
func Load(path string) (*Model, error) {
	return savefile.Load(path, Read)
}
