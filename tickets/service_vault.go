package tickets

import (
	"context"
	"fmt"
)

// Reveal returns the originals behind one message's placeholders to a
// supervisor, or to an agent holding (or having held) a ticket of the
// conversation. Every reveal is audited with what was revealed, never the
// values.
func (s *Service) Reveal(ctx context.Context, actor Actor, conversationID string, messageID int64) ([]Secret, error) {
	if !actor.Supervisor {
		var ok bool
		err := s.store.primary.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tickets WHERE conversation_id = $1 AND assignee = $2)`,
			conversationID, actor.ID).Scan(&ok)
		if err != nil {
			return nil, mapPgErr(err, "reveal")
		}
		if !ok {
			return nil, fmt.Errorf("conversation %s has no ticket of yours: %w", conversationID, ErrForbidden)
		}
	}
	secrets, err := s.store.RevealSecrets(ctx, conversationID, messageID)
	if err != nil {
		return nil, err
	}
	kinds := make([]string, 0, len(secrets))
	for _, sec := range secrets {
		kinds = append(kinds, sec.Placeholder)
	}
	detail := map[string]any{"conversation": conversationID, "message": messageID, "placeholders": kinds}
	if err := s.store.AppendAudit(ctx, nil, actor.ID, "pii.reveal", conversationID, detail); err != nil {
		return nil, err // no audit, no reveal
	}
	return secrets, nil
}
