package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

// conversationAccess is object-level access to conversations: who may read one
// (mayReadConversation, ownsConversation), and how its messages read to its customer
// (customerMessages, staffNames).
type conversationAccess struct {
	tickets *tickets.Service
	convs   conversationRecords
	dir     directory
	log     *slog.Logger
}

// mayReadConversation admits a conversation's own customer, supervisors and admins, and
// agents only through a ticket of the conversation they hold or may see (the ticket
// core's canSee rule). Another customer's or an unrelated agent's request is refused.
func (a *conversationAccess) mayReadConversation(c *gin.Context, id string) error {
	cl := claimsOf(c)
	if cl.Role == RoleCustomer {
		return a.ownsConversation(c.Request.Context(), cl.Subject, id)
	}
	return a.tickets.CanSeeConversation(c.Request.Context(), actorOf(c), id)
}

// ownsConversation checks that conv belongs to the signed-in customer.
func (a *conversationAccess) ownsConversation(ctx context.Context, customerRef, conv string) error {
	owner, err := a.convs.ConversationOwner(ctx, conv)
	if err != nil {
		return err
	}
	cust, err := a.convs.GetCustomer(ctx, owner)
	if err != nil {
		return err
	}
	if cust.PseudonymousID != customerRef {
		return fmt.Errorf("conversation %s is not yours: %w", conv, tickets.ErrForbidden)
	}
	return nil
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
	// Attachment is a file or image an agent sent (GET …/attachments/:attachment).
	Attachment *tickets.Attachment `json:"attachment,omitempty"`
}

// staffNames shows staff authors to customers, looking each agent's display name up
// once per view.
type staffNames struct {
	dir   directory
	log   *slog.Logger
	names map[string]string
}

func (a *conversationAccess) staffNames() *staffNames {
	return &staffNames{dir: a.dir, log: a.log, names: map[string]string{}}
}

// author returns how author is shown to a customer, and the display name with it.
func (n *staffNames) author(ctx context.Context, author string) (shown, name string) {
	id, ok := strings.CutPrefix(author, "agent:")
	if !ok {
		return author, ""
	}
	if name, seen := n.names[id]; seen {
		return "agent", name
	}
	a, err := n.dir.GetAgent(ctx, id)
	if err != nil && !errors.Is(err, tickets.ErrNotFound) {
		n.log.Warn("agent display name for a customer view", "err", err)
	}
	name = a.Name // "" when the author has no agent record (a supervisor)
	if name == id {
		name = "" // no display name was set: the name defaults to the subject
	}
	n.names[id] = name
	return "agent", name
}

// customerMessages is msgs as their customer sees them.
func (a *conversationAccess) customerMessages(ctx context.Context, msgs []tickets.Message) []CustomerMessage {
	names := a.staffNames()
	out := make([]CustomerMessage, 0, len(msgs))
	for _, m := range msgs {
		author, name := names.author(ctx, m.Author)
		out = append(out, CustomerMessage{ID: m.ID, ConversationID: m.ConversationID, Author: author, AuthorName: name,
			Text: m.Text, CreatedAt: m.CreatedAt, Attachment: m.Attachment})
	}
	return out
}
