package assist

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/llmtest"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/tickets"
)

type pastList struct{ list []tickets.Resolution }

func (p *pastList) PastResolutions(_ context.Context, limit int) ([]tickets.Resolution, error) {
	return p.list[:min(limit, len(p.list))], nil
}

type kbAnswer flow.Answer

func (a kbAnswer) Answer(context.Context, string) (flow.Answer, error) { return flow.Answer(a), nil }

var history = []tickets.Resolution{
	{TicketID: "t1", Question: "My card was charged twice for one order", Answer: "I have refunded the duplicate charge; it shows in 3 days."},
	{TicketID: "t2", Question: "How do I change my delivery address?", Answer: "Open the order and choose Edit address before it ships."},
	{TicketID: "t3", Question: "我的退款还没有到账", Answer: "退款已经发起，3 个工作日内到账。"},
	{TicketID: "t4", Question: "Charged twice on my card for the same order!", Answer: "I have refunded the duplicate charge; it shows in 3 days."},
	{TicketID: "t5", Question: "The app crashes when I open it", Answer: "Please update to the latest version."},
}

// TestSuggestRanksPastResolutions: the knowledge base's answer comes first, then the
// replies that resolved questions sharing the most words (Chinese by characters and
// bigrams), one per distinct reply; unrelated ones are left out. A ticket resolved a
// moment ago is among them at once.
func TestSuggestRanksPastResolutions(t *testing.T) {
	past := &pastList{list: history[:4]}
	a := &Assistant{Past: past,
		KB: kbAnswer{Text: "Duplicate charges are refunded within 3 days.", Confidence: 0.71,
			Citations: []pipeline.Citation{{Title: "Refunds", Source: "faq.csv"}, {Title: "Refunds", Source: "faq.csv"}}}}
	ctx := context.Background()
	for _, tc := range []struct {
		question string
		want     []string // kind:ticket
	}{
		{"I was charged twice for my order", []string{"kb:", "past:t1"}},
		{"退款什么时候到账", []string{"kb:", "past:t3"}},
		{"what is the weather like", []string{"kb:"}},
	} {
		got, err := a.Suggest(ctx, Query{Question: tc.question})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, d := range got {
			kinds = append(kinds, d.Kind+":"+d.TicketID)
		}
		if d := cmp.Diff(tc.want, kinds); d != "" {
			t.Errorf("%q (-want +got):\n%s%+v", tc.question, d, got)
		}
		if len(got) > 0 && !cmp.Equal(got[0].Sources, []string{"Refunds"}) {
			t.Errorf("kb draft sources %v, want one Refunds", got[0].Sources)
		}
	}
	past.list = history // t5 resolved just now
	if got, err := a.Suggest(ctx, Query{Question: "it crashes when I open the app"}); err != nil || len(got) != 2 || got[1].TicketID != "t5" {
		t.Errorf("a ticket resolved a moment ago: %+v %v", got, err)
	}
	if got, err := a.Suggest(ctx, Query{Question: "  "}); err != nil || len(got) != 0 {
		t.Errorf("nothing asked: %+v %v", got, err)
	}
}

// wordVectors is a dense encoder for the test: a dimension per known phrase, so that
// "charged twice" and "double charge" can be made to mean the same. It counts what it
// encodes.
type wordVectors struct {
	dims    map[string]int
	encoded map[string]int
}

func (w wordVectors) Encode(_ context.Context, text string) ([]float32, error) {
	w.encoded[text]++
	v := make([]float32, 8)
	for word, dim := range w.dims {
		if strings.Contains(strings.ToLower(text), word) {
			v[dim]++
		}
	}
	return v, nil
}

// TestSuggestByMeaning: with a dense encoder the past questions are compared by their
// vectors, so a question sharing no word with a past one still finds it; each past
// question is encoded once.
func TestSuggestByMeaning(t *testing.T) {
	enc := wordVectors{dims: map[string]int{"charged twice": 0, "double charge": 0, "address": 1, "crash": 2}, encoded: map[string]int{}}
	a := &Assistant{Past: &pastList{list: history}, Dense: enc}
	for range 2 {
		got, err := a.Suggest(context.Background(), Query{Question: "a double charge appeared"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].TicketID != "t1" || got[0].Score != 1 {
			t.Errorf("by meaning: %+v, want t1 (and t4's same reply once)", got)
		}
	}
	if n := enc.encoded[history[0].Question]; n != 1 {
		t.Errorf("a past question encoded %d times over two suggestions, want once", n)
	}
}

// TestComposeStreamsADraftFromTheMaterial: the language model gets the conversation and
// the suggestions, with placeholders kept, and the draft streams as it is written.
func TestComposeStreamsADraftFromTheMaterial(t *testing.T) {
	if _, err := (&Assistant{}).Compose(context.Background(), Query{Question: "hi"}, nil, nil); err != ErrNoWriter {
		t.Fatalf("no writer: %v", err)
	}
	fake := &llmtest.Server{Answer: func(prompt string) string {
		if strings.Contains(prompt, "refunded the duplicate charge") {
			return "Sorry about that: I have refunded the duplicate charge, you will see it in 3 days."
		}
		return "Could you tell me the order number?"
	}}
	a := &Assistant{Past: &pastList{list: history}, Writer: kb.LLMComposer{Model: fake.Start(t)}}
	ctx := context.Background()
	q := Query{Question: "charged twice, call me on [PHONE_1]", Conversation: []Line{{"customer", "charged twice, call me on [PHONE_1]"}, {"bot", "Let me get a colleague."}}}
	sugg, err := a.Suggest(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var drafts []string
	d, err := a.Compose(ctx, q, sugg, func(s string) { drafts = append(drafts, s) })
	if err != nil {
		t.Fatal(err)
	}
	want := "Sorry about that: I have refunded the duplicate charge, you will see it in 3 days."
	if d.Kind != KindLLM || d.Text != want || len(drafts) < 5 || drafts[len(drafts)-1] != want || !cmp.Equal(d.Sources, []string{"ticket t1"}) {
		t.Errorf("draft %+v after %d partial drafts", d, len(drafts))
	}
	prompts := fake.Prompts()
	for _, part := range []string{"[PHONE_1]", "Let me get a colleague.", "A customer once asked", "keep them as they are"} {
		if !strings.Contains(prompts[0], part) {
			t.Errorf("the prompt lacks %q: %s", part, prompts[0])
		}
	}
}
