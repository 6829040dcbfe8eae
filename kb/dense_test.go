package kb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/nlp/embed"
)

// topicEncoder opens an ONNX sentence encoder whose word vectors point along one axis per
// topic, so paraphrases sharing no word with an FAQ question still land next to it.
func topicEncoder(t *testing.T, pooling string) *embed.Encoder {
	t.Helper()
	onnxtest.ORT(t)
	vectors := map[string][]float32{}
	for axis, words := range [][]string{
		{"refund", "money", "back", "return", "reimburse"},
		{"card", "stolen", "lost", "missing", "plastic"},
		{"password", "login", "locked", "reset", "forgot"},
	} {
		for _, w := range words {
			v := make([]float32, 3)
			v[axis] = 1
			vectors[w] = v
		}
	}
	for _, w := range []string{"how", "do", "i", "get", "a", "my", "was", "please", "went", "?"} {
		vectors[w] = []float32{0.05, 0.05, 0.05}
	}
	dir := t.TempDir()
	model, tok, err := onnxtest.WriteEncoder(dir, vectors)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := embed.Open(context.Background(), embed.Config{Model: model, Tokenizer: tok, Pooling: pooling})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

func TestDenseEncoderFindsParaphrasesLexicalMisses(t *testing.T) {
	ctx := context.Background()
	enc := topicEncoder(t, "")
	faq := filepath.Join(t.TempDir(), "faq.csv")
	os.WriteFile(faq, []byte("question,answer\n"+
		"How do I get a refund?,Refunds reach your account within 5 days.\n"+
		"My card was stolen,Freeze the card in the app.\n"+
		"I forgot my password,Use the reset link on the sign-in page.\n"), 0o644)
	idx, err := kb.NewEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lex := kb.NewLexicalEmbedder()
	st, err := kb.Ingest(ctx, idx, lex, faq, nil, kb.WithIngestDense(enc))
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 6 { // three questions, three answers
		t.Fatalf("ingest: %+v", st)
	}

	lexical := kb.NewRetriever(idx, lex)
	hybrid := kb.NewRetriever(idx, lex, kb.WithDenseEncoder(enc))
	for _, tc := range []struct{ query, want string }{
		{"money back please", "Refunds reach your account within 5 days."},
		{"plastic went missing", "Freeze the card in the app."},
		{"locked out of login", "Use the reset link on the sign-in page."},
	} {
		ans, err := hybrid.Answer(ctx, tc.query)
		if err != nil {
			t.Fatal(err)
		}
		if ans.Text != tc.want || ans.Confidence < 0.5 {
			t.Errorf("hybrid %q: %q (confidence %.2f), want %q with confidence ≥ 0.5", tc.query, ans.Text, ans.Confidence, tc.want)
		}
		// the lexical index alone has no word in common to go on
		if ans, _ := lexical.Answer(ctx, tc.query); ans.Text == tc.want && ans.Confidence >= 0.35 {
			t.Errorf("lexical %q answered confidently without the encoder: the test does not test the dense path", tc.query)
		}
	}
	// a lexical match still wins through fusion
	if ans, _ := hybrid.Answer(ctx, "How do I get a refund?"); ans.Text != "Refunds reach your account within 5 days." {
		t.Errorf("exact question: %q", ans.Text)
	}

	// re-ingesting with the same encoder changes nothing; another encoder re-embeds all
	if st, _ := kb.Ingest(ctx, idx, lex, faq, nil, kb.WithIngestDense(enc)); st.Unchanged != 6 {
		t.Errorf("same encoder: %+v", st)
	}
	if st, _ := kb.Ingest(ctx, idx, lex, faq, nil, kb.WithIngestDense(topicEncoder(t, "cls"))); st.Updated != 6 {
		t.Errorf("other encoder: %+v", st)
	}
}
