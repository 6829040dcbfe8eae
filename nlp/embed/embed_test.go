package embed_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/nlp/embed"
)

// vectors are the fixture's word embeddings; special tokens are zero rows.
var vectors = map[string][]float32{
	"hello": {1, 0, 0}, "world": {0, 1, 0}, ",": {0, 0, 0}, "!": {0, 0, 0},
	"un": {0, 0, 1}, "##aff": {1, 1, 0}, "##able": {0, 1, 1}, "cafe": {2, 0, 1},
	"我": {1, 2, 3}, "要": {3, 2, 1}, "投": {0, 1, 2}, "诉": {2, 1, 0},
}

func fixture(t *testing.T) (model, tok string) {
	t.Helper()
	model, tok, err := onnxtest.WriteEncoder(t.TempDir(), vectors)
	if err != nil {
		t.Fatal(err)
	}
	return model, tok
}

func TestTokenizerFollowsBertUncased(t *testing.T) {
	_, path := fixture(t)
	tk, err := embed.LoadTokenizer(path)
	if err != nil {
		t.Fatal(err)
	}
	// vocabulary ids: the four specials, then the sorted words
	id := map[string]int64{}
	for i, w := range []string{"!", "##able", "##aff", ",", "cafe", "hello", "un", "world", "我", "投", "要", "诉"} {
		id[w] = int64(i + 4)
	}
	const cls, sep, unk = onnxtest.ClsID, onnxtest.SepID, onnxtest.UnkID
	for _, tc := range []struct {
		text string
		max  int
		want []int64
	}{
		{"Hello, WORLD!", 0, []int64{cls, id["hello"], id[","], id["world"], id["!"], sep}},
		{"unaffable", 0, []int64{cls, id["un"], id["##aff"], id["##able"], sep}},
		{"Café", 0, []int64{cls, id["cafe"], sep}}, // accents stripped as Hugging Face does
		{"我要投诉", 0, []int64{cls, id["我"], id["要"], id["投"], id["诉"], sep}},
		{"我要zzz投诉", 0, []int64{cls, id["我"], id["要"], unk, id["投"], id["诉"], sep}},
		{"", 0, []int64{cls, sep}},
		{"hello world hello world", 4, []int64{cls, id["hello"], id["world"], sep}},
	} {
		got, err := tk.Encode(tc.text, tc.max)
		if err != nil {
			t.Fatalf("%q: %v", tc.text, err)
		}
		if d := cmp.Diff(tc.want, got.IDs); d != "" {
			t.Errorf("%q (-want +got):\n%s", tc.text, d)
		}
		if len(got.Types) != len(got.IDs) {
			t.Errorf("%q: %d types for %d ids", tc.text, len(got.Types), len(got.IDs))
		}
	}
}

func TestLoadTokenizerErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"notjson.json":  "{",
		"nomodel.json":  `{"version":"1.0"}`,
		"badmodel.json": `{"model":{"type":"NoSuchModel"}}`,
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := embed.LoadTokenizer(p); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := embed.LoadTokenizer(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// want is the normalised mean of the word vectors plus two zero rows ([CLS], [SEP]).
func want(words ...string) []float32 {
	v := make([]float32, 3)
	for _, w := range words {
		for i, x := range vectors[w] {
			v[i] += x
		}
	}
	var s float64
	for _, x := range v {
		s += float64(x * x)
	}
	for i := range v {
		v[i] /= float32(math.Sqrt(s))
	}
	return v
}

var approx = cmpopts.EquateApprox(0, 1e-5)

func TestEncoderMeanPoolsTheModelOutput(t *testing.T) {
	onnxtest.ORT(t)
	model, tok := fixture(t)
	ctx := context.Background()
	enc, err := embed.Open(ctx, embed.Config{Model: model, Tokenizer: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if enc.Dim() != 3 || enc.Fingerprint() == "" {
		t.Fatalf("dim %d, fingerprint %q", enc.Dim(), enc.Fingerprint())
	}
	got, err := enc.Encode(ctx, "Hello world")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want("hello", "world"), got, approx); d != "" {
		t.Errorf("hello world (-want +got):\n%s", d)
	}
	// a batch pads to its longest text; padding must not change any vector
	texts := []string{"hello", "我要投诉", "unaffable world"}
	batch, err := enc.EncodeBatch(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	wants := [][]float32{want("hello"), want("我", "要", "投", "诉"), want("un", "##aff", "##able", "world")}
	if d := cmp.Diff(wants, batch, approx); d != "" {
		t.Errorf("batch (-want +got):\n%s", d)
	}
	// concurrent use gives the same answers
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			v, err := enc.Encode(ctx, texts[i%3])
			if err != nil {
				t.Error(err)
				return
			}
			if d := cmp.Diff(wants[i%3], v, approx); d != "" {
				t.Errorf("concurrent %d: %s", i, d)
			}
		})
	}
	wg.Wait()
}

func TestEncoderTruncatesAndPoolsCLS(t *testing.T) {
	onnxtest.ORT(t)
	model, tok := fixture(t)
	ctx := context.Background()
	enc, err := embed.Open(ctx, embed.Config{Model: model, Tokenizer: tok, MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	got, _ := enc.Encode(ctx, "world hello hello hello")
	if d := cmp.Diff(want("world"), got, approx); d != "" {
		t.Errorf("truncated to [CLS] world [SEP] (-want +got):\n%s", d)
	}
	cls, err := embed.Open(ctx, embed.Config{Model: model, Tokenizer: tok, Pooling: "cls"})
	if err != nil {
		t.Fatal(err)
	}
	defer cls.Close()
	if cls.Fingerprint() == enc.Fingerprint() {
		t.Error("pooling and length do not change the fingerprint")
	}
	// [CLS] has a zero row here, so CLS pooling yields the zero vector (left unnormalised)
	got, _ = cls.Encode(ctx, "hello")
	if d := cmp.Diff([]float32{0, 0, 0}, got); d != "" {
		t.Errorf("cls pooling: %s", d)
	}
}

func TestOpenRejectsWhatIsNotAnEncoder(t *testing.T) {
	onnxtest.ORT(t)
	model, tok := fixture(t)
	ctx := context.Background()
	// an image classifier's interface: a float input
	g := &onnxtest.Graph{Name: "classifier"}
	g.Input("pixels", onnxtest.Float, "batch", 3)
	g.Output("logits", onnxtest.Float, "batch", 3)
	g.Node("Identity", []string{"pixels"}, []string{"logits"})
	other := filepath.Join(t.TempDir(), "classifier.onnx")
	os.WriteFile(other, g.Model(13), 0o644)
	if _, err := embed.Open(ctx, embed.Config{Model: other, Tokenizer: tok}); !errors.Is(err, embed.ErrModel) {
		t.Errorf("classifier: err = %v, want ErrModel", err)
	}
	for name, cfg := range map[string]embed.Config{
		"bad pooling":       {Model: model, Tokenizer: tok, Pooling: "max"},
		"one token":         {Model: model, Tokenizer: tok, MaxTokens: 1},
		"missing model":     {Model: model + ".gone", Tokenizer: tok},
		"missing tokenizer": {Model: model, Tokenizer: tok + ".gone"},
	} {
		if _, err := embed.Open(ctx, cfg); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}
