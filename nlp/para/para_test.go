package para

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/nlp/match"
)

func TestFeatures(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"Don't", "dont", true},
		{"ＲＥＦＵＮＤ", "refund", true}, // full-width folded
		{"refund", "refunds", false},
		{"退款", "退 款", true},  // spaces between CJK characters are noise
		{"退款", "退。款", false}, // punctuation breaks the bigram
	} {
		got := cmp.Equal(Features(tc.a), Features(tc.b))
		if got != tc.same {
			t.Errorf("Features(%q) == Features(%q): %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
	for _, tc := range []struct {
		text string
		want int
	}{
		{"", 0},
		{"pin", 1},              // a short word has no character grams
		{"my pin", 3},           // two words and their bigram
		{"card", 1 + 4 + 3 + 2}, // the word and "<card>"'s 4 trigrams, 3 four-grams, 2 five-grams
		{"退款", 3},               // two characters and their bigram
		{"top up 100", 5},       // three words, two bigrams
	} {
		if got := len(Features(tc.text)); got != tc.want {
			t.Errorf("len(Features(%q)) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

// synonymPairs are words that share no letters and mean the same thing.
var synonymPairs = [][2]string{{"refund", "reimbursement"}, {"parcel", "package"}, {"cancel", "terminate"},
	{"password", "passcode"}, {"invoice", "bill"}, {"address", "location"}, {"broken", "damaged"},
	{"phone", "mobile"}, {"delivery", "shipping"}, {"discount", "coupon"}}

// matched counts the pairs whose first word, framed by q, comes out nearest to its own
// second word among all the pairs' second words, each framed by c.
func matched(m *Model, pairs [][2]string, q, c func(string) string) int {
	right := 0
	for i, p := range pairs {
		best, bestJ := -2.0, -1
		for j, o := range pairs {
			if s := m.Similarity(q(p[0]), c(o[1])); s > best {
				best, bestJ = s, j
			}
		}
		if bestJ == i {
			right++
		}
	}
	return right
}

// synonymGroups are groups in which two words that share no letters mean the same
// thing: each group says one thing with word a in some texts and word b in others.
func synonymGroups() []Group {
	pairs := synonymPairs
	templates := []string{"i need help with my %s", "question about the %s", "what about my %s please",
		"can you check the %s", "%s issue"}
	var gs []Group
	for _, p := range pairs {
		var g Group
		for i, tpl := range templates {
			g.Texts = append(g.Texts, fmt.Sprintf(tpl, p[i%2]))
		}
		gs = append(gs, g)
	}
	return gs
}

// TestTrainLearnsSynonyms trains on groups that pair words sharing no letters and checks
// that a text with one word comes out nearer to a text with its synonym than to the other
// groups' texts; the untrained model (random vectors per word) cannot do that.
func TestTrainLearnsSynonyms(t *testing.T) {
	m, err := Train(context.Background(), []Set{{Name: "synonyms", Groups: synonymGroups()}}, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	untrained := &Model{dim: m.dim, slot: map[uint64]int32{}, unseenIDF: 1}
	rank := func(m *Model) int {
		return matched(m, synonymPairs[:5], func(w string) string { return "where is my " + w },
			func(w string) string { return "tell me about the " + w })
	}
	if got := rank(m); got < 5 {
		t.Errorf("trained model matched %d of 5 synonyms", got)
	}
	if got := rank(untrained); got > 2 {
		t.Errorf("untrained model matched %d of 5 synonyms: the test cannot tell training apart", got)
	}
	if m.Info.TrainedOn[0] != "synonyms" || m.Info.Groups != 10 || m.Info.Texts != 50 {
		t.Errorf("info %+v", m.Info)
	}
}

func TestTrainNeedsData(t *testing.T) {
	_, err := Train(context.Background(), []Set{{Name: "x", Groups: []Group{{Texts: []string{"one"}}}}}, Options{})
	if !errors.Is(err, ErrNoData) {
		t.Fatalf("err %v, want ErrNoData", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, []Set{{Name: "s", Groups: synonymGroups()}}, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err %v", err)
	}
}

func TestSaveLoad(t *testing.T) {
	m, err := Train(context.Background(), []Set{{Name: "synonyms", Groups: synonymGroups()}}, Options{Seed: 2, Dim: 32})
	if err != nil {
		t.Fatal(err)
	}
	if m.Features() == 0 || m.Features() != m.Info.Features {
		t.Fatalf("%d learned features, info %+v", m.Features(), m.Info)
	}
	path := filepath.Join(t.TempDir(), "sub", "model.bin")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m.Info, back.Info); diff != "" {
		t.Errorf("info (-saved +loaded):\n%s", diff)
	}
	for _, text := range []string{"refund issue", "unknown words only", "退款"} {
		if c := float64(dot(m.Vector(text), back.Vector(text))); c < 0.99999 {
			t.Errorf("%q: cosine of saved and loaded vectors %.4f", text, c)
		}
	}
	if back.Fingerprint() == "" || back.Dim() != 32 {
		t.Errorf("fingerprint %q, dim %d", back.Fingerprint(), back.Dim())
	}
	raw, _ := os.ReadFile(path)
	for name, bad := range map[string][]byte{"empty": nil, "magic": []byte("PK\x03\x04"), "truncated": raw[:len(raw)-7],
		"trailing": append(append([]byte{}, raw...), 0)} {
		if _, err := Read(bytes.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", name, err)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseSynset(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Group
		bad  bool
	}{
		{line: "13282161 21 n 01 refund 0 003 @ 13278375 n 0000 | money returned to a payer  ",
			want: Group{Texts: []string{"refund", "money returned to a payer"}}},
		{line: "01121690 04 n 02 refund 0 repayment 0 004 @ 01120448 n 0000 | the act of returning money; \"he got a refund\"",
			want: Group{Texts: []string{"refund", "repayment", "the act of returning money"}}},
		{line: "00001740 00 a 01 able_bodied(a) 0 000 | ",
			want: Group{Texts: []string{"able bodied"}}},
		{line: "00001740 00 a 0a x 0 | too few words", bad: true},
		{line: "short", bad: true},
	} {
		got, err := parseSynset(tc.line)
		if (err != nil) != tc.bad {
			t.Errorf("%q: err %v", tc.line, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); !tc.bad && diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.line, diff)
		}
	}
}

func TestPairGroups(t *testing.T) {
	got := PairGroups([]match.Pair{{A: "怎么退款", B: "如何退钱", Same: true}, {A: "怎么退款", B: "怎么付款"},
		{A: "x", B: "x", Same: true}, {A: "无关", B: "别的"}})
	want := []Group{{Texts: []string{"怎么退款", "如何退钱"}, Hard: []string{"怎么付款"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestWordNet reads Debian's wordnet-base when it is installed (make test installs it).
func TestWordNet(t *testing.T) {
	if _, err := os.Stat(filepath.Join(WordNetDir, "data.noun")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("wordnet-base is not installed: %v", err)
		}
		t.Skip("wordnet-base is not installed")
	}
	gs, err := LoadWordNet(WordNetDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) < 100_000 {
		t.Fatalf("%d synsets", len(gs))
	}
	found := false
	for _, g := range gs {
		if g.Texts[0] == "refund" && len(g.Texts) == 2 && g.Texts[1] == "money returned to a payer" {
			found = true
		}
	}
	if !found {
		t.Error("no synset {refund, money returned to a payer}")
	}
}
