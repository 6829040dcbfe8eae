package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
)

// Typing indicators: who is writing in a conversation right now, the customer to the
// agent who holds its ticket, that agent to the customer. Nothing is stored: the event
// goes out to every instance over the event channel (best effort, like AnnounceMessage)
// and the gateway's hubs hand it to the sockets concerned.

// EventTyping is the type of a typing event: TicketID, ConversationID and AssigneeID
// (the ticket's holder) name where; Author who types ("customer" or "agent:<id>").
const EventTyping = "typing"

// CustomerTyping tells the agent who holds the open ticket of conversationID that its
// customer is typing; without an agent holding one it does nothing. The caller has
// checked that the customer owns the conversation.
func (s *Service) CustomerTyping(ctx context.Context, conversationID string) error {
	t, err := s.store.OpenTicketFor(ctx, conversationID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !t.Status.Active() || t.AssigneeID == "" {
		return nil
	}
	s.store.announceTyping(ctx, Event{Type: EventTyping, TicketID: t.ID, ConversationID: t.ConversationID,
		AssigneeID: t.AssigneeID, Author: "customer"})
	return nil
}

// CanWriteTo reports whether the actor may write to the customer of ticket id (as in a
// reply): the agent who holds it, or a supervisor while someone does.
func (s *Service) CanWriteTo(ctx context.Context, actor Actor, id string) error {
	_, err := s.writableTicket(ctx, actor, id)
	return err
}

func (s *Service) writableTicket(ctx context.Context, actor Actor, id string) (Ticket, error) {
	t, err := s.GetTicket(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	return t, s.mustHold(actor, &t)
}

// AgentTyping tells the customer of ticket id that the actor, who may write to them
// (CanWriteTo), is typing a reply.
func (s *Service) AgentTyping(ctx context.Context, actor Actor, id string) error {
	t, err := s.writableTicket(ctx, actor, id)
	if err != nil {
		return err
	}
	s.store.announceTyping(ctx, Event{Type: EventTyping, TicketID: t.ID, ConversationID: t.ConversationID,
		AssigneeID: t.AssigneeID, Author: "agent:" + actor.ID})
	return nil
}

// TypingAgent is the agent id of a typing event of an agent ("" for the customer's).
func TypingAgent(ev Event) string {
	if id, ok := strings.CutPrefix(ev.Author, "agent:"); ok {
		return id
	}
	return ""
}

// announceTyping sends a typing event to every instance, batched with the message
// announcements (dropped when the queue is full).
func (s *storeCore) announceTyping(ctx context.Context, ev Event) {
	b, _ := json.Marshal(ev)
	s.ann.add(ctx, string(b), s.notifyAll)
}
