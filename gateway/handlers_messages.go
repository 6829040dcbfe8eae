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

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

// messageRequest is a customer message over the REST channel (JSON with text and ids,
// or multipart/form-data with the same fields and files in "image" and "audio" parts; see
// messages_input.go) or web chat.
type messageRequest struct {
	MessageID      string // the client's idempotency key
	ConversationID string
	DisplayName    string
	Text           string
	Images         []mediaPart
	Audio          []mediaPart
}

// mediaPart is one photo or voice note of a REST message.
type mediaPart struct {
	Data []byte
	MIME string
}

// Media limits of one REST message.
const (
	maxImagesPerMessage = 4
	maxAudioPerMessage  = 2
)

// parts turns a REST message into pipeline parts, checking the media limits.
func (s *Server) parts(in messageRequest) ([]pipeline.Part, error) {
	if len(in.Images) > maxImagesPerMessage || len(in.Audio) > maxAudioPerMessage {
		return nil, fmt.Errorf("%w: at most %d images and %d voice notes per message", errBadRequest, maxImagesPerMessage, maxAudioPerMessage)
	}
	var parts []pipeline.Part
	if strings.TrimSpace(in.Text) != "" {
		parts = append(parts, pipeline.Part{Kind: pipeline.PartText, Text: in.Text})
	}
	for kind, media := range map[pipeline.PartKind][]mediaPart{pipeline.PartImage: in.Images, pipeline.PartAudio: in.Audio} {
		for _, m := range media {
			if len(m.Data) == 0 {
				return nil, fmt.Errorf("%w: an empty %s part", errBadRequest, kind)
			}
			if limit := s.maxMediaPart(); int64(len(m.Data)) > limit {
				return nil, fmt.Errorf("%w: a %s of %d bytes, limit %d", errTooLarge, kind, len(m.Data), limit)
			}
			parts = append(parts, pipeline.Part{Kind: kind, Data: m.Data, MIME: m.MIME})
		}
	}
	return parts, nil
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
	// Status "transcribing": the message holds a voice note too long to transcribe
	// while the client waits; it is stored, and the answer follows in the
	// conversation (and over web chat) once a queue worker transcribed it.
	Status string `json:"status,omitempty"`
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
	in, hold, err := s.readMessage(c)
	defer hold.Release() // the media's memory: held until the turn is answered
	if err != nil {
		s.fail(c, err)
		return
	}
	out, err := s.customerText(c.Request.Context(), claimsOf(c).Subject, in)
	if err != nil {
		s.fail(c, err)
		return
	}
	if out.Status == statusTranscribing {
		c.JSON(http.StatusAccepted, out)
		return
	}
	c.JSON(http.StatusOK, out)
}

const statusTranscribing = "transcribing"

// customerText handles one text message of a signed-in customer (REST and
// web chat): ingress, then the answer inline under a lease.
func (s *Server) customerText(ctx context.Context, customerRef string, in messageRequest) (MessageReply, error) {
	if s.opts.Ingress == nil || s.opts.Process == nil {
		return MessageReply{}, fmt.Errorf("%w: this server runs no message pipeline", errUnavailable)
	}
	if err := checkText(in); err != nil {
		return MessageReply{}, err
	}
	parts, err := s.parts(in)
	if err != nil {
		return MessageReply{}, err
	}
	if len(parts) == 0 {
		return MessageReply{}, fmt.Errorf("%w: a message needs text, a photo or a voice note", errBadRequest)
	}
	if in.MessageID == "" {
		in.MessageID = uuid.NewString()
	}
	// The key is the client's: it is unique per customer, not globally.
	t := &pipeline.Turn{Channel: "rest", ChannelMessageID: restMessageKey(customerRef, in.MessageID), ConversationID: in.ConversationID,
		CustomerRef: customerRef, CustomerName: in.DisplayName, ReceivedAt: time.Now(), Lease: restLease,
		Parts: parts}
	if err := s.opts.Ingress.Run(ctx, t); err != nil {
		return MessageReply{}, err
	}
	if t.Duplicate {
		return s.replayOutcome(ctx, t)
	}
	if len(t.DeferredAudio) > 0 {
		// Stored without a lease: a queue worker transcribes and answers it.
		if s.opts.Wake != nil {
			s.opts.Wake()
		}
		return MessageReply{ConversationID: t.ConversationID, Citations: []pipeline.Citation{}, Degraded: nonNil(t.Degraded),
			Status: statusTranscribing}, nil
	}
	// The turn is durable; if this process dies now, a queue worker answers
	// it after restLease.
	if err := s.opts.Process.Run(ctx, t); err != nil {
		return MessageReply{}, err
	}
	// The inline answer is attempt 1; a queue worker that took the turn over
	// (this request outlived its lease) records its own answer instead.
	out, taken, err := recordAnswer(ctx, s.turns, t, 1, true)
	if err != nil {
		return MessageReply{}, err
	}
	if taken {
		s.log.Warn("a queue worker took over this turn; its answer is the one recorded")
	}
	return out, nil
}

// recordAnswer is the last step of answering a turn, the same for the REST handler and
// the queue worker, so the flush-once invariant lives here: one synchronous commit logs
// the bot's reply and stores the outcome, fenced by attempt. It follows the message's
// own commit, which persist let go without waiting for the WAL flush, so when it returns
// the message is durable too and only now may the customer be answered. done marks the
// turn answered (nothing left to deliver). taken: another attempt took the turn over,
// and its answer is the one kept.
func recordAnswer(ctx context.Context, r replyRecorder, t *pipeline.Turn, attempt int, done bool) (out MessageReply, taken bool, err error) {
	out = replyOf(t)
	err = r.RecordReply(ctx, tickets.TurnReply{Channel: t.Channel, ChannelMessageID: t.ChannelMessageID, Attempt: attempt,
		ConversationID: t.ConversationID, Text: out.Reply, Outcome: out, Done: done})
	if errors.Is(err, tickets.ErrConflict) {
		return out, true, nil
	}
	return out, false, err
}

func (s *Server) replayOutcome(ctx context.Context, t *pipeline.Turn) (MessageReply, error) {
	res, err := s.turns.RecordInbound(ctx, tickets.Inbound{Channel: t.Channel, ChannelMessageID: t.ChannelMessageID,
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

// getConversation returns a conversation's redacted transcript: to its customer (staff
// shown as "agent" with a display name, agents' replies as written while their originals
// are held), to agents through a ticket of it they may see, and to supervisors and admins.
func (s *Server) getConversation(c *gin.Context) {
	id := c.Param("id")
	if err := s.mayReadConversation(c, id); err != nil {
		s.fail(c, err)
		return
	}
	msgs, err := s.convs.ListMessages(c.Request.Context(), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	if claimsOf(c).Role == RoleCustomer { // the owner, checked above: agents' replies read as written while held
		if err := s.convs.CustomerView(c.Request.Context(), id, msgs); err != nil {
			s.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"conversation_id": id, "messages": s.customerMessages(c.Request.Context(), msgs)})
		return
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
	secrets, err := s.tickets.Reveal(c.Request.Context(), actorOf(c), c.Param("id"), mid)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"conversation_id": c.Param("id"), "message_id": mid, "values": nonNil(secrets)})
}
