package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

// messageRequest is a customer message over the REST channel.
type messageRequest struct {
	MessageID      string `json:"message_id"` // the client's idempotency key
	ConversationID string `json:"conversation_id"`
	DisplayName    string `json:"display_name"`
	Text           string `json:"text"`
}

// MessageReply is the bot's answer to one message (also replayed verbatim
// for a redelivered message id).
type MessageReply struct {
	ConversationID string              `json:"conversation_id"`
	Reply          string              `json:"reply"`
	Citations      []pipeline.Citation `json:"citations"`
	Confidence     float64             `json:"confidence"`
	Language       string              `json:"language,omitempty"`
	Intent         string              `json:"intent,omitempty"`
	WantsHuman     bool                `json:"wants_human"`
	Escalated      bool                `json:"escalated"`
	TicketID       string              `json:"ticket_id,omitempty"`
	Degraded       []string            `json:"degraded"`
	Duplicate      bool                `json:"duplicate"`
}

func replyOf(t *pipeline.Turn) MessageReply {
	return MessageReply{ConversationID: t.ConversationID, Reply: t.Reply, Citations: nonNil(t.Citations), Confidence: t.Confidence,
		Language: t.Language, Intent: t.Intent, WantsHuman: t.WantsHuman, Escalated: t.Escalated, TicketID: t.TicketID,
		Degraded: nonNil(t.Degraded)}
}

// restLease is how long a REST request may take to answer its own turn
// before the queue's workers take it over.
const restLease = 30 * time.Second

// postMessage runs a customer's text message through the pipeline and
// answers with the bot's reply. The message is durable before the answer.
func (s *Server) postMessage(c *gin.Context) {
	var in messageRequest
	if err := bind(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.customerText(c, claimsOf(c).Subject, in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// customerText handles one text message of a signed-in customer (REST and
// web chat): ingress, then the answer inline under a lease.
func (s *Server) customerText(ctx context.Context, customerRef string, in messageRequest) (MessageReply, error) {
	if s.opts.Ingress == nil || s.opts.Process == nil {
		return MessageReply{}, fmt.Errorf("%w: this server runs no message pipeline", errUnavailable)
	}
	if strings.TrimSpace(in.Text) == "" || len(in.Text) > 16<<10 || !utf8.ValidString(in.Text+in.DisplayName+in.MessageID) ||
		len(in.MessageID) > 200 || len(in.DisplayName) > 200 || strings.ContainsRune(in.MessageID, 0) {
		return MessageReply{}, fmt.Errorf("%w: text must be 1 to 16384 bytes of UTF-8; message_id and display_name at most 200 bytes", errBadRequest)
	}
	if in.MessageID == "" {
		in.MessageID = uuid.NewString()
	}
	// The key is the client's: it is unique per customer, not globally.
	t := &pipeline.Turn{Channel: "rest", ChannelMessageID: customerRef + ":" + in.MessageID, ConversationID: in.ConversationID,
		CustomerRef: customerRef, CustomerName: in.DisplayName, ReceivedAt: time.Now(), Lease: restLease,
		Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: in.Text}}}
	if err := s.opts.Ingress.Run(ctx, t); err != nil {
		return MessageReply{}, err
	}
	if t.Duplicate {
		return s.replayOutcome(ctx, t)
	}
	// The turn is durable; if this process dies now, a queue worker answers
	// it after restLease.
	if err := s.opts.Process.Run(ctx, t); err != nil {
		return MessageReply{}, err
	}
	out := replyOf(t)
	// The inline answer is attempt 1; a queue worker that took the turn over
	// (this request outlived its lease) records its own answer instead.
	if err := s.tickets.Store.RecordReply(ctx, t.Channel, t.ChannelMessageID, 1, t.ConversationID, t.Reply, out, true); err != nil {
		if !errors.Is(err, tickets.ErrConflict) {
			return MessageReply{}, err
		}
		s.log.Warn("a queue worker took over this turn; its answer is the one recorded", "err", err)
	}
	return out, nil
}

func (s *Server) replayOutcome(ctx context.Context, t *pipeline.Turn) (MessageReply, error) {
	res, err := s.tickets.Store.RecordInbound(ctx, tickets.Inbound{Channel: t.Channel, ChannelMessageID: t.ChannelMessageID,
		CustomerRef: t.CustomerRef})
	if err != nil {
		return MessageReply{}, err
	}
	var out MessageReply
	if len(res.Outcome) == 0 || json.Unmarshal(res.Outcome, &out) != nil {
		// The first delivery is still being processed (or failed after it was stored).
		out = MessageReply{ConversationID: res.ConversationID, Citations: []pipeline.Citation{}, Degraded: []string{}}
	}
	out.Duplicate = true
	return out, nil
}

// getConversation returns a conversation's redacted transcript: to its
// customer, and to staff.
func (s *Server) getConversation(c *gin.Context) {
	id := c.Param("id")
	cl := claimsOf(c)
	if cl.Role == RoleCustomer {
		owner, err := s.tickets.Store.ConversationOwner(c, id)
		if err != nil {
			s.fail(c, err)
			return
		}
		cust, err := s.tickets.Store.GetCustomer(c, owner)
		if err != nil {
			s.fail(c, err)
			return
		}
		if cust.PseudonymousID != cl.Subject {
			s.fail(c, fmt.Errorf("conversation %s is not yours: %w", id, tickets.ErrForbidden))
			return
		}
	}
	msgs, err := s.tickets.Store.ListMessages(c, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if len(msgs) == 0 {
		if _, err := s.tickets.Store.ConversationOwner(c, id); err != nil {
			s.fail(c, err)
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{"conversation_id": id, "messages": nonNil(msgs)})
}

// revealPII returns the originals behind a message's placeholders to a
// permitted reader; every reveal is audited.
func (s *Server) revealPII(c *gin.Context) {
	mid, err := strconv.ParseInt(c.Param("mid"), 10, 64)
	if err != nil || mid <= 0 {
		s.fail(c, fmt.Errorf("%w: message id must be a positive number", errBadRequest))
		return
	}
	secrets, err := s.tickets.Reveal(c, actorOf(c), c.Param("id"), mid)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"conversation_id": c.Param("id"), "message_id": mid, "values": nonNil(secrets)})
}
