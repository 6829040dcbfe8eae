package intent

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

// Labels of the escalation model returned by [EscalationModel].
const (
	// LabelWantsHuman marks a customer asking for a human agent.
	LabelWantsHuman = "wants_human"
	// LabelFrustrated marks an angry or frustrated customer.
	LabelFrustrated = "frustrated"
	// LabelOther marks any other message (ordinary questions, greetings, thanks).
	LabelOther = "other"
)

// escalationJSONL is the bilingual labelled training set of the escalation model, one
// {"text", "label"} object per line.
//
//go:embed data/escalation.jsonl
var escalationJSONL []byte

// escalationSeed fixes the escalation model, so every process trains the same one.
const escalationSeed = 77

// escalationCache holds the escalation model once trained.
var escalationCache struct {
	mu sync.Mutex
	c  *Classifier
}

// EscalationModel returns the classifier of "wants a human" ([LabelWantsHuman]),
// frustration ([LabelFrustrated]) and everything else ([LabelOther]) in Chinese and
// English. It is trained from the embedded labelled set on first use and cached; a failed
// or cancelled training is not cached.
func EscalationModel(ctx context.Context) (*Classifier, error) {
	escalationCache.mu.Lock()
	defer escalationCache.mu.Unlock()
	if escalationCache.c != nil {
		return escalationCache.c, nil
	}
	examples, err := EscalationExamples()
	if err != nil {
		return nil, err
	}
	c, err := Train(ctx, examples, Options{Epochs: 30, Seed: escalationSeed})
	if err != nil {
		return nil, fmt.Errorf("intent: train escalation model: %w", err)
	}
	escalationCache.c = c
	return c, nil
}

// EscalationExamples returns the embedded bilingual training set of [EscalationModel].
func EscalationExamples() ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(bytes.NewReader(escalationJSONL))
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var rec struct{ Text, Label string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Text == "" || rec.Label == "" {
			return nil, fmt.Errorf("%w: escalation.jsonl line %d: %v", ErrBadData, line, err)
		}
		out = append(out, Example{Text: rec.Text, Label: rec.Label})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("intent: read escalation set: %w", err)
	}
	return out, nil
}
