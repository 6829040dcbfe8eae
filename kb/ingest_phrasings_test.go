package kb

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFAQPhrasings: an FAQ entry carries the other ways customers ask its question —
// further question columns of a CSV (question2, alternates, 相似问 …; one per cell) or
// lists in JSON ("questions", "alternates") — and each is read once, in order.
func TestFAQPhrasings(t *testing.T) {
	for _, tc := range []struct {
		name, format, data string
		want               []faqEntry
	}{
		{"csv numbered and named columns", "faq-csv",
			"Question,Question 2,Answer,Alternates\n" +
				"How do I get a refund?,Can I have my money back?,Refunds take 5 days.,I want a refund\n" +
				"Where is my card?,,Cards take a week.,\n",
			[]faqEntry{{Question: "How do I get a refund?", Alternates: []string{"Can I have my money back?", "I want a refund"}, Answer: "Refunds take 5 days."},
				{Question: "Where is my card?", Answer: "Cards take a week."}}},
		{"csv chinese", "faq-csv",
			"标准问,相似问,相似问,答案\n怎么退款,钱能退吗,我要退钱,三个工作日内退回。\n",
			[]faqEntry{{Question: "怎么退款", Alternates: []string{"钱能退吗", "我要退钱"}, Answer: "三个工作日内退回。"}}},
		{"csv without header keeps two columns", "faq-csv",
			"How do I get a refund?,Refunds take 5 days.,extra\n",
			[]faqEntry{{Question: "How do I get a refund?", Answer: "Refunds take 5 days."}}},
		{"json questions list", "faq-json",
			`[{"questions":["How do I get a refund?","money back please"],"answer":"Refunds take 5 days."},
			  {"question":"Where is my card?","alternates":["card not arrived"],"paraphrase":"no card yet","answer":"A week."}]`,
			[]faqEntry{{Question: "How do I get a refund?", Alternates: []string{"money back please"}, Answer: "Refunds take 5 days."},
				{Question: "Where is my card?", Alternates: []string{"card not arrived", "no card yet"}, Answer: "A week."}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := parseDocument(tc.format, "faq", []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, doc.FAQ); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
	e := faqEntry{Question: "Refund?", Alternates: []string{"", "money back", "REFUND?", "money back"}}
	if diff := cmp.Diff([]string{"Refund?", "money back"}, e.phrasings()); diff != "" {
		t.Errorf("phrasings (-want +got):\n%s", diff)
	}
}

// TestFAQPhrasingAnswers: a customer's question that shares words only with an entry's
// alternate phrasing is answered from that entry, and the citation names the entry's
// question.
func TestFAQPhrasingAnswers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "faq.json"), `[
		{"question":"How do I get a refund?","alternates":["can I have my money back"],"answer":"Refunds take 5 working days."},
		{"question":"Where is my card?","alternates":["my card has not arrived"],"answer":"Cards arrive within a week."},
		{"question":"How do I reset my password?","answer":"Use the Forgot password link."}]`)
	idx, err := NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	emb := NewLexicalEmbedder()
	if _, err := Ingest(ctx, idx, emb, filepath.Join(dir, "faq.json"), nil); err != nil {
		t.Fatal(err)
	}
	ans, err := NewRetriever(idx, emb).Answer(ctx, "I would like my money back")
	if err != nil {
		t.Fatal(err)
	}
	if ans.Text != "Refunds take 5 working days." || len(ans.Citations) == 0 || ans.Citations[0].Title != "How do I get a refund?" {
		t.Fatalf("answer %+v", ans)
	}
}
