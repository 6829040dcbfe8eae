package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

// mayReadConversation admits a conversation's own customer, supervisors and admins, and
// agents only through a ticket of the conversation they hold or may see (the ticket
// core's canSee rule). Another customer's or an unrelated agent's request is refused.
func (s *Server) mayReadConversation(c *gin.Context, id string) error {
	cl := claimsOf(c)
	if cl.Role == RoleCustomer {
		return s.ownsConversation(c.Request.Context(), cl.Subject, id)
	}
	return s.tickets.CanSeeConversation(c.Request.Context(), actorOf(c), id)
}

// CustomerMessage is a conversation message as its customer sees it: a member of staff
// appears as author "agent" with the agent's display name, never by their subject.
type CustomerMessage struct {
	ID             int64     `json:"id"`
	ConversationID string    `json:"conversation_id"`
	Author         string    `json:"author"` // customer, bot, agent, system
	AuthorName     string    `json:"author_name,omitempty"`
	Text           string    `json:"text"`
	CreatedAt      time.Time `json:"created_at"`
}

// staffNames shows staff authors to customers, looking each agent's display name up
// once per view.
type staffNames struct {
	s     *Server
	names map[string]string
}

func (s *Server) staffNames() *staffNames { return &staffNames{s: s, names: map[string]string{}} }

// author returns how author is shown to a customer, and the display name with it.
func (n *staffNames) author(ctx context.Context, author string) (shown, name string) {
	id, ok := strings.CutPrefix(author, "agent:")
	if !ok {
		return author, ""
	}
	if name, seen := n.names[id]; seen {
		return "agent", name
	}
	a, err := n.s.dir.GetAgent(ctx, id)
	if err != nil && !errors.Is(err, tickets.ErrNotFound) {
		n.s.log.Warn("agent display name for a customer view", "err", err)
	}
	name = a.Name // "" when the author has no agent record (a supervisor)
	if name == id {
		name = "" // no display name was set: the name defaults to the subject
	}
	n.names[id] = name
	return "agent", name
}

// customerMessages is msgs as their customer sees them.
func (s *Server) customerMessages(ctx context.Context, msgs []tickets.Message) []CustomerMessage {
	names := s.staffNames()
	out := make([]CustomerMessage, 0, len(msgs))
	for _, m := range msgs {
		author, name := names.author(ctx, m.Author)
		out = append(out, CustomerMessage{ID: m.ID, ConversationID: m.ConversationID, Author: author, AuthorName: name,
			Text: m.Text, CreatedAt: m.CreatedAt})
	}
	return out
}
