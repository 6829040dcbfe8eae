package match

import (
	"hash/fnv"
	"math"
	"slices"
)

// maxCrossUnits bounds the unshared units per side that are crossed into pair indicators.
const maxCrossUnits = 8

// sparse is a sparse input vector; indices may repeat (their values add up).
type sparse struct {
	idx []int32
	val []float32
}

// encoder maps the similarity features and the texts of a pair to the classifier input:
// the standardised features, one quantile-bin indicator per feature, and hashed
// indicators of the units and bigrams only one side has and of crossed unshared units.
type encoder struct {
	mean, std []float64
	cuts      [][]float64 // per feature, increasing bin boundaries
	binBase   int         // first bin index
	hashBase  int         // first hashed index
	stride    int         // bin slots per feature
	hashMask  uint32
	dim       int
}

// newEncoder fits standardisation and quantile bins on the feature vectors.
func newEncoder(dense [][]float64, bins, hashBits int) *encoder {
	e := &encoder{
		mean: make([]float64, NumFeatures), std: make([]float64, NumFeatures),
		cuts: make([][]float64, NumFeatures), binBase: NumFeatures,
	}
	col := make([]float64, len(dense))
	for f := range NumFeatures {
		for i, v := range dense {
			col[i] = v[f]
		}
		e.mean[f], e.std[f] = meanStd(col)
		e.cuts[f] = quantileCuts(col, bins)
	}
	e.stride = bins
	e.hashBase = e.binBase + NumFeatures*bins
	e.hashMask = 1<<hashBits - 1
	e.dim = e.hashBase + 1<<hashBits
	return e
}

// meanStd returns the mean and standard deviation of xs (the deviation is at least 1e-6).
func meanStd(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(max(1, len(xs)))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, max(1e-6, math.Sqrt(std/float64(max(1, len(xs)))))
}

// quantileCuts returns the distinct inner quantile boundaries splitting xs into bins.
func quantileCuts(xs []float64, bins int) []float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	var cuts []float64
	for b := 1; b < bins && len(s) > 0; b++ {
		c := s[b*len(s)/bins]
		if len(cuts) == 0 || c > cuts[len(cuts)-1] {
			cuts = append(cuts, c)
		}
	}
	return cuts
}

// encode builds the classifier input of one pair from its features and texts.
func (e *encoder) encode(f []float64, a, b string) sparse {
	var x sparse
	for i, v := range f {
		x.add(i, (v-e.mean[i])/e.std[i])
		bin, _ := slices.BinarySearch(e.cuts[i], v)
		if bin < len(e.cuts[i]) && e.cuts[i][bin] == v {
			bin++
		}
		x.add(e.binBase+i*e.stride+bin, 1)
	}
	e.addUnshared(&x, Units(a), Units(b))
	return x
}

// add appends the value v at index i.
func (x *sparse) add(i int, v float64) {
	x.idx = append(x.idx, int32(i))
	x.val = append(x.val, float32(v))
}

// addUnshared adds hashed indicators of the units and bigrams only one side has, of
// pairs (one unit only in a, one only in b) and of the units both sides share, so the
// model learns which differences change the meaning and which shared words matter.
func (e *encoder) addUnshared(x *sparse, a, b []string) {
	ua, ub := counts(a), counts(b)
	onlyA, onlyB := onlyIn(ua, ub), onlyIn(ub, ua)
	for _, t := range onlyA {
		e.addHashed(x, "u", t, "")
	}
	for _, t := range onlyB {
		e.addHashed(x, "u", t, "")
	}
	ba, bb := counts(bigrams(a)), counts(bigrams(b))
	for _, t := range onlyIn(ba, bb) {
		e.addHashed(x, "b", t, "")
	}
	for _, t := range onlyIn(bb, ba) {
		e.addHashed(x, "b", t, "")
	}
	for _, s := range onlyA[:min(len(onlyA), maxCrossUnits)] {
		for _, t := range onlyB[:min(len(onlyB), maxCrossUnits)] {
			e.addHashed(x, "x", min(s, t), max(s, t))
		}
	}
	if len(onlyA)+len(onlyB) == 0 {
		e.addHashed(x, "n", "", "")
	}
	for _, t := range sharedIn(ua, ub) {
		e.addHashed(x, "s", t, "")
	}
}

// addHashed adds an indicator for the key (kind, s, t) in the hashed block.
func (e *encoder) addHashed(x *sparse, kind, s, t string) {
	h := fnv.New32a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(s))
	h.Write([]byte{0})
	h.Write([]byte(t))
	x.add(e.hashBase+int(h.Sum32()&e.hashMask), 1)
}

// sharedIn returns the sorted terms a and b have in common.
func sharedIn(a, b map[string]int) []string {
	var out []string
	for t := range a {
		if _, ok := b[t]; ok {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// onlyIn returns the sorted terms of a that b lacks.
func onlyIn(a, b map[string]int) []string {
	var out []string
	for t := range a {
		if _, ok := b[t]; !ok {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}
