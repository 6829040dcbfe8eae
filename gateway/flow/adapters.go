package flow

import (
	"context"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/lang"
)

// KBAnswerer adapts the knowledge base's retriever to the respond stage.
type KBAnswerer struct{ Retriever *kb.Retriever }

// Answer returns the retriever's answer with its citations.
func (a KBAnswerer) Answer(ctx context.Context, text string) (Answer, error) {
	ans, err := a.Retriever.Answer(ctx, text)
	return fromKB(ans), err
}

func fromKB(ans kb.Answer) Answer {
	out := Answer{Text: ans.Text, Confidence: ans.Confidence}
	for _, c := range ans.Citations {
		out.Citations = append(out.Citations, pipeline.Citation(c))
	}
	return out
}

// NLPUnderstander adapts nlp/ to the understand stage: language by script,
// "wants a human" and frustration from the learned escalation model, and
// the intent from an intent model when one is trained.
type NLPUnderstander struct {
	Escalation *intent.Classifier // labels wants_human, frustrated, other
	Intents    *intent.Classifier // optional
	MinConf    float64            // escalation labels below this count as other (default 0.5)
}

// Understand classifies redacted text.
func (u NLPUnderstander) Understand(_ context.Context, text string) (Understanding, error) {
	out := Understanding{Language: string(lang.Detect(text))}
	minConf := u.MinConf
	if minConf == 0 {
		minConf = 0.5
	}
	if u.Escalation != nil {
		p := u.Escalation.Predict(text)
		out.WantsHuman = p.Label == intent.LabelWantsHuman && p.Confidence >= minConf
		out.Frustrated = p.Label == intent.LabelFrustrated && p.Confidence >= minConf
	}
	if u.Intents != nil {
		p := u.Intents.Predict(text)
		out.Intent, out.Confidence = p.Label, p.Confidence
	}
	return out, nil
}

// LLMAnswerer composes answers with a language model from the knowledge
// base's passages (kb.LLMComposer); confidence and citations stay the
// retriever's.
type LLMAnswerer struct {
	Retriever *kb.Retriever
	Composer  kb.LLMComposer
}

// Answer asks the model; the answer streams to the turn's drafts (WithDrafts) when the
// respond stage allows it.
func (a LLMAnswerer) Answer(ctx context.Context, text string) (Answer, error) {
	s, _ := ctx.Value(streamKey{}).(*kb.Stream)
	ans, err := a.Composer.Compose(ctx, a.Retriever, text, s)
	return fromKB(ans), err
}

// draftsKey carries the edge's draft sink (WithDrafts); streamKey the respond stage's
// stream for the answerer (the sink, and whether the answer will be given).
type (
	draftsKey struct{}
	streamKey struct{}
)

// WithDrafts returns ctx asking for the turn's answer as a language model writes it:
// draft receives the answer so far each time it grows (web chat shows it while the turn
// runs). Only an answer the bot will give streams — not when the customer asked for a
// human or the passages' confidence is below the escalation threshold of the message's
// language — and the turn's reply stays the final word (a refusal, a failed model call
// or a handover replaces the draft). Without a language model nothing is drafted.
func WithDrafts(ctx context.Context, draft func(soFar string)) context.Context {
	return context.WithValue(ctx, draftsKey{}, draft)
}
