package vision

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrLabels means a labels file or a category mapping is unusable.
var ErrLabels = errors.New("vision: bad labels")

// Label is one class of a classification with its probability, and the support category
// it maps to when Categories has one.
type Label struct {
	Index    int     `json:"index"`
	Name     string  `json:"label"`
	Score    float64 `json:"score"`
	Category string  `json:"category,omitempty"`
}

// maxLabelsFile bounds LoadLabels: a labels file is a few tens of kilobytes.
const maxLabelsFile = 16 << 20

// LoadLabels reads a labels file: one class name per line, line i naming class i (the
// ImageNet "squeeze-labels.txt" style). A leading WordNet id ("n01440764 tench, Tinca
// tinca") is dropped; blank lines inside the file keep their index with an empty name.
func LoadLabels(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLabels, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxLabelsFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrLabels, path, err)
	}
	if len(data) > maxLabelsFile {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrLabels, path, maxLabelsFile)
	}
	labels := ParseLabels(data)
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: %s has no labels", ErrLabels, path)
	}
	return labels, nil
}

var wordnetID = regexp.MustCompile(`^n[0-9]{8}\s+`)

// ParseLabels is LoadLabels on bytes already read.
func ParseLabels(data []byte) []string {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	lines := strings.Split(string(data), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		l = strings.TrimSpace(l)
		out[i] = wordnetID.ReplaceAllString(l, "")
	}
	return out
}

// Probabilities returns scores as probabilities: unchanged when they already are (every
// value in [0,1] and the sum within 1e-3 of 1), else their softmax. NaN counts as a
// logit of −∞ (probability 0).
func Probabilities(scores []float32) []float64 {
	out := make([]float64, len(scores))
	if len(scores) == 0 {
		return out
	}
	sum, isProb := 0.0, true
	maxv := math.Inf(-1)
	for i, s := range scores {
		v := float64(s)
		if math.IsNaN(v) {
			v = math.Inf(-1)
		}
		out[i] = v
		if v < 0 || v > 1 {
			isProb = false
		}
		sum += max(v, 0)
		maxv = max(maxv, v)
	}
	if isProb && math.Abs(sum-1) <= 1e-3 {
		return out
	}
	if math.IsInf(maxv, 0) { // all −∞ (or +∞): no information, spread evenly
		for i := range out {
			out[i] = 1 / float64(len(out))
		}
		return out
	}
	sum = 0
	for i, v := range out {
		out[i] = math.Exp(v - maxv)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// TopK turns a classifier's output (logits, or probabilities when they already are,
// see Probabilities) into its k most probable labels, best first, ties to the lower
// index. A class without a name in labels is named "#index".
func TopK(logits []float32, k int, labels []string) []Label {
	k = min(k, len(logits))
	if k <= 0 {
		return nil
	}
	probs := Probabilities(logits)
	best := make([]int, 0, k+1) // class indexes, best first
	for i, p := range probs {
		if len(best) == k && p <= probs[best[k-1]] {
			continue
		}
		at, _ := slices.BinarySearchFunc(best, p, func(j int, p float64) int {
			return cmp.Compare(p, probs[j]) // descending; an equal earlier class stays first
		})
		for at < len(best) && probs[best[at]] == p {
			at++
		}
		best = slices.Insert(best, at, i)
		if len(best) > k {
			best = best[:k]
		}
	}
	out := make([]Label, len(best))
	for n, i := range best {
		name := "#" + strconv.Itoa(i)
		if i < len(labels) && labels[i] != "" {
			name = labels[i]
		}
		out[n] = Label{Index: i, Name: name, Score: probs[i]}
	}
	return out
}

// Categories maps support categories ("headphones", "damaged parcel") to the model
// labels that mean them, as configured: {"headphones": ["headphone, earphone", "532"]}.
// An entry matches a label's whole name or one of its comma-separated synonyms, case
// and surrounding space ignored; an entry that is a number matches the class index
// (ImageNet names are not unique: "crane" is a bird and a machine). When a label maps
// to several categories, the first in name order wins.
type Categories map[string][]string

// Validate rejects empty category names and entries, wrapped in ErrLabels.
func (c Categories) Validate() error {
	var errs []error
	for cat, entries := range c {
		if strings.TrimSpace(cat) == "" {
			errs = append(errs, errors.New("empty category name"))
		}
		if len(entries) == 0 {
			errs = append(errs, fmt.Errorf("category %q lists no labels", cat))
		}
		for _, e := range entries {
			if strings.TrimSpace(e) == "" {
				errs = append(errs, fmt.Errorf("category %q has an empty label", cat))
			}
		}
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return fmt.Errorf("%w: %w", ErrLabels, errors.Join(errs...))
	}
	return nil
}

// Apply returns labels with Category set on each label that maps to one; labels itself
// is not modified.
func (c Categories) Apply(labels []Label) []Label {
	out := slices.Clone(labels)
	names := c.sortedNames()
	for i := range out {
		out[i].Category = c.categoryOf(names, out[i])
	}
	return out
}

// Of returns the distinct categories of labels, from the best-scoring label down. A
// label's Category is used when set, else it is looked up.
func (c Categories) Of(labels []Label) []string {
	sorted := slices.Clone(labels)
	slices.SortStableFunc(sorted, func(a, b Label) int { return cmp.Compare(b.Score, a.Score) })
	names := c.sortedNames()
	var out []string
	for _, l := range sorted {
		cat := l.Category
		if cat == "" {
			cat = c.categoryOf(names, l)
		}
		if cat != "" && !slices.Contains(out, cat) {
			out = append(out, cat)
		}
	}
	return out
}

func (c Categories) sortedNames() []string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (c Categories) categoryOf(names []string, l Label) string {
	for _, cat := range names {
		for _, e := range c[cat] {
			if labelMatches(strings.TrimSpace(e), l) {
				return cat
			}
		}
	}
	return ""
}

func labelMatches(entry string, l Label) bool {
	if entry == "" {
		return false
	}
	if n, err := strconv.Atoi(entry); err == nil {
		return n == l.Index
	}
	if strings.EqualFold(entry, strings.TrimSpace(l.Name)) {
		return true
	}
	for syn := range strings.SplitSeq(l.Name, ",") {
		if strings.EqualFold(entry, strings.TrimSpace(syn)) {
			return true
		}
	}
	return false
}
