package intent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// trainEscalation trains a fresh model on the embedded escalation set.
func trainEscalation(t testing.TB, opts Options) *Classifier {
	t.Helper()
	examples, err := EscalationExamples()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Train(context.Background(), examples, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// probeTexts are inputs for comparing two models' outputs.
var probeTexts = []string{
	"", "   ", "talk to a human", "我要转人工", "where is my parcel", "气死了",
	"\x00\xff\xfe invalid utf8", "😡😡😡", "1234567890", strings.Repeat("ab好", 3000),
}

func TestTrainDeterministic(t *testing.T) {
	a := trainEscalation(t, Options{Seed: 7})
	b := trainEscalation(t, Options{Seed: 7})
	for _, text := range probeTexts {
		if diff := cmp.Diff(a.TopK(text, 3), b.TopK(text, 3)); diff != "" {
			t.Errorf("same seed, different predictions for %q (-a +b):\n%s", text, diff)
		}
	}
	c := trainEscalation(t, Options{Seed: 8})
	if cmp.Equal(a.w, c.w) {
		t.Error("different seeds gave identical weights; the seed is not used")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	c := trainEscalation(t, Options{Seed: 1})
	var buf bytes.Buffer
	if err := c.Save(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c.Labels(), got.Labels()); diff != "" {
		t.Errorf("labels mismatch (-want +got):\n%s", diff)
	}
	for _, text := range probeTexts {
		if diff := cmp.Diff(c.TopK(text, 3), got.TopK(text, 3)); diff != "" {
			t.Errorf("loaded model predicts %q differently (-want +got):\n%s", text, diff)
		}
	}
}

func TestLoadRejectsBadInput(t *testing.T) {
	c := trainEscalation(t, Options{Seed: 1})
	var buf bytes.Buffer
	if err := c.Save(&buf); err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("not a model at all"),
		"truncated": buf.Bytes()[:buf.Len()/2],
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(bytes.NewReader(data)); !errors.Is(err, ErrBadModel) {
				t.Errorf("Load: got %v, want ErrBadModel", err)
			}
		})
	}
}

func TestTrainErrors(t *testing.T) {
	tests := []struct {
		name     string
		examples []Example
		opts     Options
		ctx      func() context.Context
		want     error
	}{
		{"no examples", nil, Options{}, context.Background, ErrTooFewLabels},
		{"one label", []Example{{"a", "x"}, {"b", "x"}}, Options{}, context.Background, ErrTooFewLabels},
		{"diverging options", []Example{{"a", "x"}, {"b", "y"}}, Options{LearningRate: 2, L2: 0.5}, context.Background, ErrBadOptions},
		{"cancelled", []Example{{"a", "x"}, {"b", "y"}}, Options{}, func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Train(tt.ctx(), tt.examples, tt.opts); !errors.Is(err, tt.want) {
				t.Errorf("Train: got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPredictEdgeInputs(t *testing.T) {
	c := trainEscalation(t, Options{Seed: 1})
	for _, text := range probeTexts {
		top := c.TopK(text, 100)
		if len(top) != len(c.Labels()) {
			t.Errorf("TopK(%q, 100): %d predictions, want %d", text, len(top), len(c.Labels()))
		}
		var sum float64
		for i, p := range top {
			sum += p.Confidence
			if i > 0 && p.Confidence > top[i-1].Confidence {
				t.Errorf("TopK(%q) not sorted: %v", text, top)
			}
		}
		if sum < 0.999 || sum > 1.001 {
			t.Errorf("TopK(%q) probabilities sum to %v", text, sum)
		}
		if got := c.TopK(text, 0); len(got) != 1 || got[0] != c.Predict(text) {
			t.Errorf("TopK(%q, 0) = %v, want the single Predict result", text, got)
		}
	}
}

func TestTrainSeparatesSimpleClasses(t *testing.T) {
	examples := []Example{
		{"refund my money", "refund"}, {"I want a refund", "refund"}, {"退款", "refund"}, {"申请退款", "refund"},
		{"where is my parcel", "delivery"}, {"track my package", "delivery"}, {"快递到哪了", "delivery"}, {"物流查询", "delivery"},
	}
	c, err := Train(context.Background(), examples, Options{Epochs: 50})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]string{"a refund please": "refund", "我要退款": "refund", "parcel tracking": "delivery", "查询快递": "delivery"} {
		if got := c.Predict(text); got.Label != want || got.Confidence <= 0.5 {
			t.Errorf("Predict(%q) = %+v, want %s with confidence > 0.5", text, got, want)
		}
	}
}

func BenchmarkPredict(b *testing.B) {
	c := trainEscalation(b, Options{Seed: 1})
	texts := []string{"I have been waiting for an hour, get me a real person now", "我的订单三天了还没发货，请帮我转人工客服处理一下"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Predict(texts[i%2])
		i++
	}
}

func TestPredictConcurrent(t *testing.T) {
	c := trainEscalation(t, Options{Seed: 1})
	want := make([]Prediction, len(probeTexts))
	for i, text := range probeTexts {
		want[i] = c.Predict(text)
	}
	errs := make(chan string, 4*len(probeTexts))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, text := range probeTexts {
				if got := c.Predict(text); got != want[i] {
					errs <- fmt.Sprintf("Predict(%q) = %+v concurrently, %+v alone", text, got, want[i])
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
