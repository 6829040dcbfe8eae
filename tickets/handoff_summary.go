package tickets

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// maxSummaryRunes bounds a handoff summary.
const maxSummaryRunes = 2000

// SetHandoffSummary stores a language model's summary of the conversation on ticket id's
// handoff (redacted again: the model saw only redacted text, but what it writes is text
// like any other), for anyone who may see the ticket; audited. ErrConflict for a ticket
// the bot did not hand over.
func (s *Service) SetHandoffSummary(ctx context.Context, actor Actor, id, summary string) (Ticket, error) {
	summary = strings.TrimSpace(summary)
	if summary == "" || !utf8.ValidString(summary) || utf8.RuneCountInString(summary) > maxSummaryRunes {
		return Ticket{}, fmt.Errorf("handoff summary: 1 to %d characters of UTF-8: %w", maxSummaryRunes, ErrInvalid)
	}
	if _, err := s.visibleTicket(ctx, actor, id); err != nil {
		return Ticket{}, err
	}
	red, err := s.redact(ctx, summary)
	if err != nil {
		return Ticket{}, err
	}
	_, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		if t.Handoff == nil {
			return fmt.Errorf("ticket %s was not handed over by the bot: it has no handoff to summarize: %w", id, ErrConflict)
		}
		if _, err := tx.Exec(ctx, `UPDATE tickets SET handoff = jsonb_set(handoff, '{summary}', to_jsonb($2::text)) WHERE id = $1`, id, red); err != nil {
			return err
		}
		t.Handoff.Summary = red
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.summary", id, map[string]any{"characters": utf8.RuneCountInString(red)})
	})
	if err != nil {
		return Ticket{}, err
	}
	s.afterWrite(ctx, t)
	return t, nil
}
