package kb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-cs/switchboard/kb"
)

// TestAnswersInTheQuestionsLanguage: a bilingual FAQ answers each customer from the
// entries in the customer's language, and a question in a language the knowledge base
// does not hold is still answered from what it has.
func TestAnswersInTheQuestionsLanguage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// the entries share the product's name, "App", so a question naming it matches the
	// entry in the other language too
	bilingual := filepath.Join(dir, "faq.json")
	if err := os.WriteFile(bilingual, []byte(`[
		{"question": "How do I get a refund in the Switchboard App?", "answer": "Tap Orders, then Refund: refunds take five days."},
		{"question": "Switchboard App 怎么退款？", "answer": "在 App 的订单页点退款，五天内到账。"},
		{"question": "Where is my parcel?", "answer": "Parcels arrive within a week."}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	english := filepath.Join(dir, "en", "faq.csv")
	os.MkdirAll(filepath.Dir(english), 0o755)
	if err := os.WriteFile(english, []byte("question,answer\nHow do I get a refund?,Refunds take five days.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, faq, q, want string
	}{
		{"chinese customer", bilingual, "Switchboard App 怎么申请退款呢", "在 App 的订单页点退款，五天内到账。"},
		{"english customer", bilingual, "Switchboard App 退款 how", "Tap Orders, then Refund: refunds take five days."},
		{"no answer in the customer's language", english, "refund 怎么退款", "Refunds take five days."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx, err := kb.NewEmbedded("")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := kb.Ingest(ctx, idx, kb.NewLexicalEmbedder(), tc.faq, nil); err != nil {
				t.Fatal(err)
			}
			got, err := kb.NewRetriever(idx, kb.NewLexicalEmbedder()).Answer(ctx, tc.q)
			if err != nil || got.Text != tc.want {
				t.Errorf("Answer(%q) = %q, %v; want %q", tc.q, got.Text, err, tc.want)
			}
		})
	}
}
