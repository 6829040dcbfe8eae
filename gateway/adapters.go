package gateway

import (
	"context"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/kb"
)

// KBAnswerer adapts the knowledge base's retriever to the respond stage.
type KBAnswerer struct{ Retriever *kb.Retriever }

// Answer returns the retriever's answer with its citations.
func (a KBAnswerer) Answer(ctx context.Context, text string) (Answer, error) {
	ans, err := a.Retriever.Answer(ctx, text)
	if err != nil {
		return Answer{}, err
	}
	out := Answer{Text: ans.Text, Confidence: ans.Confidence}
	for _, c := range ans.Citations {
		out.Citations = append(out.Citations, pipeline.Citation(c))
	}
	return out, nil
}
