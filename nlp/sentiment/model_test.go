package sentiment

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/lang"
)

// obvious are sentences written for this test (TestObviousSentences checks that none is
// a training text) whose polarity nobody would dispute.
var obvious = []struct {
	text     string
	negative bool
}{
	{"I love this phone, it works great.", false},
	{"The staff were friendly and the food was delicious.", false},
	{"Excellent quality, highly recommended.", false},
	{"Terrible quality, it broke after one day.", true},
	{"The worst service I have ever had.", true},
	{"Very disappointed, I want my money back.", true},
	{"东西很好，非常满意，下次还来买", false},
	{"味道不错，送餐也很快", false},
	{"酒店干净，服务热情", false},
	{"质量太差了，用了一天就坏了", true},
	{"送餐太慢了，饭都凉了", true},
	{"客服态度恶劣，再也不买了", true},
}

func TestObviousSentences(t *testing.T) {
	m, _, c := trainedModel(t)
	seen := map[string]bool{}
	for _, sets := range c.Sets {
		for _, s := range sets {
			for _, e := range s.Examples {
				seen[e.Text] = true
			}
		}
	}
	for _, tt := range obvious {
		if seen[tt.text] {
			t.Errorf("%q is a training text; write another", tt.text)
		}
		got := m.Negativity(tt.text)
		if tt.negative && got < 0.8 || !tt.negative && got > 0.2 {
			t.Errorf("Negativity(%q) = %.3f, want %s", tt.text, got, map[bool]string{true: "≥ 0.8", false: "≤ 0.2"}[tt.negative])
		}
	}
	for _, text := range []string{"", "👍👍", "12345 !!!", "Привет, как дела"} {
		if got := m.Negativity(text); got != 0.5 {
			t.Errorf("Negativity(%q) = %.3f, want 0.5 (neither Chinese nor English)", text, got)
		}
	}
}

// TestHostility: blanked spans have no influence at all; nothing left scores 0; clearly
// rude replies score high and a plain greeting low.
func TestHostility(t *testing.T) {
	m, _, _ := trainedModel(t)
	pairs := []struct{ apology, rest string }{
		{"Sorry for the inconvenience,", " your new order is on its way."},
		{"I'm so sorry about the delay.", " Read the manual yourself, I'm not going to explain it again."},
		{"非常抱歉给您带来不便，", "已经为您重新发货"},
		{"理解您的心情。", "这是你自己的问题，别浪费我时间"},
	}
	for _, p := range pairs {
		text := p.apology + p.rest
		skip := [][2]int{{0, len(p.apology)}}
		if got, want := m.Hostility(text, skip), m.Negativity(p.rest); got != want {
			t.Errorf("Hostility(%q, apology skipped) = %.4f, want %.4f (the rest alone)", text, got, want)
		}
		if got := m.Hostility(text, [][2]int{{-3, len(text) + 10}}); got != 0 {
			t.Errorf("Hostility(%q, all skipped) = %.3f, want 0", text, got)
		}
	}
	tests := []struct {
		text     string
		min, max float64
	}{
		{"Read the manual yourself, I'm not going to explain it again.", 0.8, 1},
		{"这是你自己的问题，别浪费我时间", 0.8, 1},
		{"您好，请问有什么可以帮您？", 0, 0.3},
		{"  ", 0, 0},
		{"👍", 0, 0},
	}
	for _, tt := range tests {
		if got := m.Hostility(tt.text, nil); got < tt.min || got > tt.max {
			t.Errorf("Hostility(%q) = %.3f, want in [%g, %g]", tt.text, got, tt.min, tt.max)
		}
	}
}

func TestBlank(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		spans [][2]int
		want  string
	}{
		{"none", "sorry, no", nil, "sorry, no"},
		{"one", "sorry, no", [][2]int{{0, 6}}, "       no"},
		{"overlapping", "abcdef", [][2]int{{1, 3}, {2, 4}}, "a   ef"},
		{"clipped", "abc", [][2]int{{-2, 1}, {2, 99}}, " b "},
		{"reversed is empty", "abc", [][2]int{{2, 1}}, "abc"},
		{"a cut rune is blanked whole", "抱歉好", [][2]int{{1, 4}}, "      好"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, blank(tt.text, tt.spans)); diff != "" {
				t.Errorf("blank(%q, %v) (-want +got):\n%s", tt.text, tt.spans, diff)
			}
		})
	}
}

// TestSaveLoad: a model read back scores every held-out text exactly as before, and
// keeps its Info; SaveFile and LoadFile do the same through a file.
func TestSaveLoad(t *testing.T) {
	m, _, c := trainedModel(t)
	var texts []string
	for _, sets := range c.Sets {
		for _, s := range sets {
			_, held := Split(s.Examples, defaultHeldOut)
			for _, e := range held[:min(len(held), 300)] {
				texts = append(texts, e.Text)
			}
		}
	}
	var buf bytes.Buffer
	if err := m.Save(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Load(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(negativities(m, texts), negativities(back, texts)); diff != "" {
		t.Errorf("scores after a round trip (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(m.Info(), back.Info()); diff != "" {
		t.Errorf("Info after a round trip (-before +after):\n%s", diff)
	}
	path := filepath.Join(t.TempDir(), "sentiment.bin")
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	fromFile, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(negativities(m, texts[:50]), negativities(fromFile, texts[:50])); diff != "" {
		t.Errorf("scores after SaveFile/LoadFile (-before +after):\n%s", diff)
	}
}

// TestLoadRejects: other formats and damaged files are ErrBadModel.
func TestLoadRejects(t *testing.T) {
	tiny := tinyModel(t)
	var good bytes.Buffer
	if err := tiny.Save(&good); err != nil {
		t.Fatal(err)
	}
	var intentModel bytes.Buffer
	c, err := intent.Train(context.Background(), []intent.Example{{Text: "good", Label: "a"}, {Text: "bad", Label: "b"}}, intent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(&intentModel); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		msg  string
	}{
		{"empty", nil, "does not start with"},
		{"text", []byte("negative,positive\n"), "does not start with"},
		{"an intent model", intentModel.Bytes(), "does not start with"},
		{"magic then junk", append([]byte(magic), "not gob at all"...), "not a sentiment model"},
		{"truncated", good.Bytes()[:good.Len()/2], "not a sentiment model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(bytes.NewReader(tt.data))
			if !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Load = %v, want ErrBadModel saying %q", err, tt.msg)
			}
		})
	}
	if _, err := Load(bytes.NewReader(good.Bytes())); err != nil {
		t.Errorf("the good file: %v", err)
	}
}

// TestFitTemperature: on log-odds three times too confident (labels drawn from
// sigmoid(z/3)), the fitted temperature is about 3.
func TestFitTemperature(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var z []float64
	var neg []bool
	for range 20000 {
		v := rng.NormFloat64() * 6
		z = append(z, v)
		neg = append(neg, rng.Float64() < sigmoid(v/3))
	}
	if got := fitTemperature(z, neg); math.Abs(got-3) > 0.25 {
		t.Errorf("fitTemperature = %.3f, want about 3", got)
	}
	if got := fitTemperature(nil, nil); got != 1 {
		t.Errorf("fitTemperature(nothing) = %g, want 1", got)
	}
}

// tinyModel is a model trained on made-up English and Chinese phrases, for tests that
// need a model but not a good one.
func tinyModel(t testing.TB) *Model {
	t.Helper()
	var en, zh []Example
	for i := range 200 {
		n := strconv.Itoa(i)
		en = append(en, Example{Text: "good item " + n}, Example{Text: "bad item " + n, Negative: true})
		zh = append(zh, Example{Text: "很好" + n}, Example{Text: "很差" + n, Negative: true})
	}
	c := Corpus{Sets: map[lang.Lang][]Set{lang.English: {{Name: "en", Examples: en}}, lang.Chinese: {{Name: "zh", Examples: zh}}}}
	m, _, err := Train(context.Background(), c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
