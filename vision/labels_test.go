package vision_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/switchboard-cs/switchboard/vision"
)

func TestParseLabels(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"squeeze style", "n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n",
			[]string{"tench, Tinca tinca", "goldfish, Carassius auratus"}},
		{"plain names, CRLF, no final newline", "cat\r\ndog", []string{"cat", "dog"}},
		{"blank line keeps its index", "a\n\nc\n\n\n", []string{"a", "", "c"}},
		{"byte order mark", "\ufeffa\nb\n", []string{"a", "b"}},
		{"only a word that looks like an id", "n0144 tench\n", []string{"n0144 tench"}},
		{"empty", "", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, vision.ParseLabels([]byte(tt.in)), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseLabels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadLabels(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "labels.txt")
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(good, []byte("n01440764 tench, Tinca tinca\nn01443537 goldfish\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, []byte("\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := vision.LoadLabels(good)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tench, Tinca tinca", "goldfish"}, got); diff != "" {
		t.Errorf("LoadLabels (-want +got):\n%s", diff)
	}
	for _, p := range []string{empty, filepath.Join(dir, "missing.txt")} {
		if _, err := vision.LoadLabels(p); !errors.Is(err, vision.ErrLabels) {
			t.Errorf("LoadLabels(%s) error = %v, want ErrLabels", filepath.Base(p), err)
		}
	}
}

func softmax(xs ...float64) []float64 {
	sum, out := 0.0, make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Exp(x)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func TestTopK(t *testing.T) {
	names := []string{"zero", "one", "two", "three"}
	sm := softmax(1, 3, 2, 0)
	tests := []struct {
		name   string
		logits []float32
		k      int
		labels []string
		want   []vision.Label
	}{
		{"logits get softmax", []float32{1, 3, 2, 0}, 2, names, []vision.Label{
			{Index: 1, Name: "one", Score: sm[1]}, {Index: 2, Name: "two", Score: sm[2]},
		}},
		{"probabilities are kept", []float32{0.1, 0.6, 0.3, 0}, 3, names, []vision.Label{
			{Index: 1, Name: "one", Score: 0.6}, {Index: 2, Name: "two", Score: 0.3}, {Index: 0, Name: "zero", Score: 0.1},
		}},
		{"values in [0,1] not summing to 1 are logits", []float32{0.5, 0.9, 0, 0}, 1, names, []vision.Label{
			{Index: 1, Name: "one", Score: softmax(0.5, 0.9, 0, 0)[1]},
		}},
		{"ties go to the lower index", []float32{5, 7, 7, 7}, 2, names, []vision.Label{
			{Index: 1, Name: "one", Score: softmax(5, 7, 7, 7)[1]}, {Index: 2, Name: "two", Score: softmax(5, 7, 7, 7)[2]},
		}},
		{"k above the class count", []float32{0, 2}, 5, names[:2], []vision.Label{
			{Index: 1, Name: "one", Score: softmax(0, 2)[1]}, {Index: 0, Name: "zero", Score: softmax(0, 2)[0]},
		}},
		{"logits that look like probabilities are taken as such", []float32{0, 1}, 1, names, []vision.Label{
			{Index: 1, Name: "one", Score: 1},
		}},
		{"missing names", []float32{0, 0, 9}, 1, names[:1], []vision.Label{
			{Index: 2, Name: "#2", Score: softmax(0, 0, 9)[2]},
		}},
		{"NaN is never chosen", []float32{float32(math.NaN()), 1, 0}, 1, names, []vision.Label{
			{Index: 1, Name: "one", Score: softmax(1, 0)[0]},
		}},
		{"k zero", []float32{1, 2}, 0, names, nil},
		{"no logits", nil, 3, names, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := vision.TopK(tt.logits, tt.k, tt.labels)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" { // float32 inputs
				t.Errorf("TopK (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTopKMatchesFullSort(t *testing.T) {
	logits := make([]float32, 1000)
	for i := range logits {
		logits[i] = float32((i*7919)%1000) / 37 // a permutation: no ties
	}
	got := vision.TopK(logits, 5, nil)
	want := []int{}
	for v := 999; len(want) < 5; v-- {
		for i := range logits {
			if (i*7919)%1000 == v {
				want = append(want, i)
			}
		}
	}
	var gotIdx []int
	for _, l := range got {
		gotIdx = append(gotIdx, l.Index)
	}
	if diff := cmp.Diff(want, gotIdx); diff != "" {
		t.Errorf("TopK indexes (-want +got):\n%s", diff)
	}
}

func TestCategories(t *testing.T) {
	cats := vision.Categories{
		"headphones":     {"headphone, earphone", "earbuds"},
		"damaged parcel": {"carton", " Packet "},
		"machinery":      {"517"},
		"z-audio":        {"headphone"}, // also maps "headphone", but later in name order
	}
	labels := []vision.Label{
		{Index: 999, Name: "toilet tissue", Score: 0.05},
		{Index: 692, Name: "packet", Score: 0.1},
		{Index: 517, Name: "crane", Score: 0.2},
		{Index: 134, Name: "crane", Score: 0.25},
		{Index: 478, Name: "carton", Score: 0.3},
		{Index: 11, Name: "headphone, earphone", Score: 0.4},
	}
	got := cats.Apply(labels)
	want := []vision.Label{
		{Index: 999, Name: "toilet tissue", Score: 0.05},
		{Index: 692, Name: "packet", Score: 0.1, Category: "damaged parcel"},
		{Index: 517, Name: "crane", Score: 0.2, Category: "machinery"},
		{Index: 134, Name: "crane", Score: 0.25},
		{Index: 478, Name: "carton", Score: 0.3, Category: "damaged parcel"},
		{Index: 11, Name: "headphone, earphone", Score: 0.4, Category: "headphones"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	if labels[1].Category != "" {
		t.Errorf("Apply modified its argument")
	}
	if diff := cmp.Diff([]string{"headphones", "damaged parcel", "machinery"}, cats.Of(labels)); diff != "" {
		t.Errorf("Of (-want +got):\n%s", diff)
	}
	if got := (vision.Categories{}).Of(labels); len(got) != 0 {
		t.Errorf("empty Categories.Of = %v, want none", got)
	}
	synonym := vision.Categories{"ear": {"EARPHONE"}}.Apply([]vision.Label{{Name: "headphone, earphone"}})
	if synonym[0].Category != "ear" {
		t.Errorf("a synonym in another case did not match: %+v", synonym[0])
	}

	for name, tc := range map[string]struct {
		c       vision.Categories
		wantErr bool
	}{
		"ok":          {cats, false},
		"empty name":  {vision.Categories{" ": {"x"}}, true},
		"no labels":   {vision.Categories{"a": nil}, true},
		"blank label": {vision.Categories{"a": {"x", " "}}, true},
	} {
		if err := tc.c.Validate(); (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, vision.ErrLabels)) {
			t.Errorf("%s: Validate() = %v, want error: %v", name, err, tc.wantErr)
		}
	}
}
