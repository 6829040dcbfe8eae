package tickets

import (
	"encoding/json"
	"fmt"
)

// TurnFacts are what a turn's ingress learned of its media that a later step needs, stored
// as fields of the pending turn (never parsed back from the text, whose markers are for
// people): the photos' labels and support categories, and whether voice notes wait in the
// stash for the queue to transcribe them.
type TurnFacts struct {
	Labels       []Label  `json:"labels,omitempty"`
	Categories   []string `json:"categories,omitempty"`
	VoicePending bool     `json:"voice_pending,omitempty"`
}

// Label is an image label with its score.
type Label struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// value is the facts as the facts column holds them: NULL when there are none.
func (f TurnFacts) value() (any, error) {
	if len(f.Labels) == 0 && len(f.Categories) == 0 && !f.VoicePending {
		return nil, nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("turn facts: %w", err)
	}
	return b, nil
}

// scanFacts reads the facts column (NULL: none).
func scanFacts(raw []byte) (TurnFacts, error) {
	var f TurnFacts
	if len(raw) == 0 {
		return f, nil
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return f, fmt.Errorf("turn facts: %w", err)
	}
	return f, nil
}
