package tickets

import (
	"context"
	"errors"
	"fmt"
)

// maxConversationTickets bounds how many of a conversation's tickets an access check
// reads (newest first); conversations rarely have more than a few.
const maxConversationTickets = 50

// CanSeeConversation lets a supervisor see any conversation that exists, and an agent a
// conversation only through one of its tickets the agent may see (canSee: held, once
// held, or open in one of the agent's groups). ErrNotFound: no such conversation.
func (s *Service) CanSeeConversation(ctx context.Context, actor Actor, conversationID string) error {
	if _, err := s.store.ConversationOwner(ctx, conversationID); err != nil {
		return err
	}
	if actor.Supervisor {
		return nil
	}
	list, err := s.store.queryTickets(ctx, s.store.primary, "tickets", `SELECT `+ticketCols+` FROM tickets
		WHERE conversation_id = $1 ORDER BY created_at DESC LIMIT $2`, conversationID, maxConversationTickets)
	if err != nil {
		return err
	}
	for _, t := range list {
		err := s.canSee(ctx, actor, t)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrForbidden) {
			return err
		}
	}
	return fmt.Errorf("conversation %s has no ticket you hold or may see: %w", conversationID, ErrForbidden)
}

// customerWriteAllowed refuses what only supervisors may do to a customer record when
// opening a ticket: set a VIP tier other than the stored one (or any tier on a new
// customer), or replace a stored email or phone. known is the stored customer (nil:
// new). Filling an empty contact field is allowed.
func customerWriteAllowed(actor Actor, known *Customer, c Customer) error {
	if actor.Supervisor {
		return nil
	}
	tier := 0
	if known != nil {
		tier = known.VIPTier
	}
	if c.VIPTier != 0 && c.VIPTier != tier {
		return fmt.Errorf("customer.vip_tier: only a supervisor sets a customer's VIP tier: %w", ErrForbidden)
	}
	if known == nil {
		return nil
	}
	if (c.Email != "" && known.Email != "" && c.Email != known.Email) || (c.Phone != "" && known.Phone != "" && c.Phone != known.Phone) {
		return fmt.Errorf("customer email or phone: only a supervisor changes an existing customer's contact details: %w", ErrForbidden)
	}
	return nil
}
