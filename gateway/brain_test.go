package gateway

import (
	"context"
	"strconv"
	"testing"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
)

// realBrain is the production understand + respond pair over a small
// in-memory FAQ: the learned escalation model and the lexical KB.
type realBrain struct {
	flow.NLPUnderstander
	flow.KBAnswerer
}

func newRealBrain(t *testing.T) realBrain {
	t.Helper()
	esc, err := intent.EscalationModel(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	idx, err := kb.NewEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	emb := kb.NewLexicalEmbedder()
	var pts []kb.Point
	for i, qa := range [][2]string{
		{"How long does a refund take?", "Refunds arrive within 5 working days."},
		{"退款多久到账？", "退款将在5个工作日内到账。"},
		{"How do I reset my password?", "Use the 'Forgot password' link on the sign-in page."},
	} {
		c := kb.Chunk{ID: "faq#" + strconv.Itoa(i), DocID: "faq", Source: "faq.csv", Title: qa[0], Text: qa[0], Answer: qa[1]}
		pts = append(pts, kb.Point{Chunk: c, Hash: c.ID, Sparse: emb.Document(c.Text)})
	}
	if err := idx.Upsert(context.Background(), pts); err != nil {
		t.Fatal(err)
	}
	return realBrain{flow.NLPUnderstander{Escalation: esc}, flow.KBAnswerer{Retriever: kb.NewRetriever(idx, emb)}}
}
