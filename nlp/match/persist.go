package match

import (
	"errors"
	"fmt"
	"io"

	"github.com/switchboard-cs/switchboard/internal/savefile"
)

// ErrFormat means a file is not a saved Matcher.
var ErrFormat = errors.New("match: not a matcher file")

// magic opens every saved Matcher.
const magic = "SBMATCH1"

// saved is a Matcher as written: its IDF table, encoder and the non-zero weights.
type saved struct {
	DF                map[string]int
	Docs              int
	AvgLen, MaxIDF    float64
	Missing           float64
	Mean, Std         []float64
	Cuts              [][]float64
	BinBase, HashBase int
	Stride, Dim       int
	HashMask          uint32
	Index             []int32 // the weights that are not zero, by index
	Weight            []float64
	Bias, Threshold   float64
}

// WriteTo writes m.
func (m *Matcher) WriteTo(w io.Writer) (int64, error) {
	s := saved{DF: m.idf.df, Docs: m.idf.docs, AvgLen: m.idf.avgLen, MaxIDF: m.idf.maxIDF, Missing: m.idf.missing,
		Mean: m.enc.mean, Std: m.enc.std, Cuts: m.enc.cuts, BinBase: m.enc.binBase, HashBase: m.enc.hashBase,
		Stride: m.enc.stride, Dim: m.enc.dim, HashMask: m.enc.hashMask, Bias: m.model.bias, Threshold: m.threshold}
	for i, v := range m.model.w {
		if v != 0 {
			s.Index, s.Weight = append(s.Index, int32(i)), append(s.Weight, v)
		}
	}
	return savefile.WriteGob(w, magic, s)
}

// Read reads a Matcher written by WriteTo.
func Read(r io.Reader) (*Matcher, error) {
	var s saved
	if err := savefile.ReadGob(r, magic, &s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(s.Mean) != NumFeatures || len(s.Std) != NumFeatures || len(s.Cuts) != NumFeatures || len(s.Index) != len(s.Weight) ||
		s.Dim <= s.HashBase || s.Dim-s.HashBase != int(s.HashMask)+1 || s.HashBase != s.BinBase+NumFeatures*s.Stride {
		return nil, fmt.Errorf("%w: inconsistent sizes", ErrFormat)
	}
	w := make([]float64, s.Dim)
	for k, i := range s.Index {
		if i < 0 || int(i) >= s.Dim {
			return nil, fmt.Errorf("%w: weight %d out of range", ErrFormat, i)
		}
		w[i] = s.Weight[k]
	}
	return &Matcher{
		idf: &IDF{df: s.DF, docs: s.Docs, avgLen: s.AvgLen, maxIDF: s.MaxIDF, missing: s.Missing},
		enc: &encoder{mean: s.Mean, std: s.Std, cuts: s.Cuts, binBase: s.BinBase, hashBase: s.HashBase,
			stride: s.Stride, hashMask: s.HashMask, dim: s.Dim},
		model: &logistic{w: w, bias: s.Bias}, threshold: s.Threshold}, nil
}

// Save writes m to path atomically: a reader finds the old file or the new one.
func (m *Matcher) Save(path string) error {
	if err := savefile.Save(path, m); err != nil {
		return fmt.Errorf("match: save %s: %w", path, err)
	}
	return nil
}

// Load reads the Matcher saved at path.
func Load(path string) (*Matcher, error) {
	return savefile.Load(path, Read)
}
