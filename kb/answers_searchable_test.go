package kb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-cs/switchboard/kb"
)

// TestAnswerTextIsSearchable: a customer asking in the words of an FAQ answer, not of
// its terse question, is answered confidently (above the default threshold 0.35); a
// question that matches an entry's question still beats another entry's answer that
// shares its words.
func TestAnswerTextIsSearchable(t *testing.T) {
	ctx := context.Background()
	faq := filepath.Join(t.TempDir(), "faq.csv")
	if err := os.WriteFile(faq, []byte("question,answer\n"+
		"Refund policy,You can get your money back within 30 days of purchase.\n"+
		"Opening hours,Our stores open from nine to five; the card hotline never closes.\n"+
		"Where is my card?,Cards arrive within a week.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	idx, err := kb.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	lex := kb.NewLexicalEmbedder()
	if _, err := kb.Ingest(ctx, idx, lex, faq, nil); err != nil {
		t.Fatal(err)
	}
	r := kb.NewRetriever(idx, lex)
	for _, tc := range []struct{ q, want string }{
		{"can I get my money back", "You can get your money back within 30 days of purchase."},
		{"when do your stores open", "Our stores open from nine to five; the card hotline never closes."},
		{"where is my card", "Cards arrive within a week."},
	} {
		got, err := r.Answer(ctx, tc.q)
		if err != nil || got.Text != tc.want || got.Confidence < 0.35 {
			t.Errorf("Answer(%q) = %q (confidence %.2f), %v; want %q above 0.35", tc.q, got.Text, got.Confidence, err, tc.want)
		}
	}
}
