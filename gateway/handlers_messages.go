package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/tickets"
)

// messageRoutes owns what customers send and read: POST /v1/messages (REST), the turns of
// web chat, the conversation reads and PII reveals, and /v1/channels/<name> for the
// channel plugins. It hands every turn to the flow.
type messageRoutes struct {
	errorWriter
	flow     *flow.Flow                 // nil: this server runs no message pipeline (503)
	lease    time.Duration              // of a turn answered inline (Options.InlineLease)
	channels map[string]channel.Channel // the configured channel plugins, by name
	tickets  *tickets.Service
	convs    conversationRecords
	access   *conversationAccess
	limits   *limits
	media    *flow.MediaBudget // memory of uploads in flight (nil: unbounded)
	// Options.MaxImageBytes, MaxAudioBytes, MaxBodyBytes
	maxImage, maxAudio, maxBody int64
}

// messageRequest is a customer message over the REST channel (JSON with text and ids,
// or multipart/form-data with the same fields and files in "image" and "audio" parts; see
// messages_input.go) or web chat.
type messageRequest struct {
	MessageID      string // the client's idempotency key
	ConversationID string
	DisplayName    string
	Region         string // the customer's region (ISO 3166-1 alpha-2), optional
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
func (mr *messageRoutes) parts(in messageRequest) ([]pipeline.Part, error) {
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
			if limit := mr.maxMediaPart(); int64(len(m.Data)) > limit {
				return nil, fmt.Errorf("%w: a %s of %d bytes, limit %d", errTooLarge, kind, len(m.Data), limit)
			}
			parts = append(parts, pipeline.Part{Kind: kind, Data: m.Data, MIME: m.MIME})
		}
	}
	return parts, nil
}

// MessageReply is the answer to one message over REST and web chat: the turn's stored
// outcome, and whether it was a redelivery (replayed verbatim) or waits for the queue.
type MessageReply struct {
	flow.Outcome
	Duplicate bool `json:"duplicate"`
	// Status "transcribing": the message holds a voice note too long to transcribe
	// while the client waits; it is stored, and the answer follows in the
	// conversation (and over web chat) once a queue worker transcribed it.
	Status string `json:"status,omitempty"`
}

// postMessage runs a customer's text message through the pipeline and
// answers with the bot's reply. The message is durable before the answer.
func (mr *messageRoutes) postMessage(c *gin.Context) {
	in, hold, err := mr.readMessage(c)
	defer hold.Release() // the media's memory: held until the turn is answered
	if err != nil {
		mr.fail(c, err)
		return
	}
	out, err := mr.customerText(c.Request.Context(), claimsOf(c).Subject, in)
	if err != nil {
		mr.fail(c, err)
		return
	}
	if out.Status == statusTranscribing {
		c.JSON(http.StatusAccepted, out)
		return
	}
	c.JSON(http.StatusOK, out)
}

const statusTranscribing = "transcribing"

// customerText handles one message of a signed-in customer (REST and web chat): the
// flow's ingress, then its answer inline under a lease renewed while this request works
// on it (the queue's workers take the turn over only once it runs out: this process
// died). A redelivery (the client's retry of the same message id, on any replica) is
// answered with the first delivery's answer, waited for while that one is being answered.
func (mr *messageRoutes) customerText(ctx context.Context, customerRef string, in messageRequest) (MessageReply, error) {
	if mr.flow == nil || mr.flow.Process == nil {
		return MessageReply{}, fmt.Errorf("%w: %w", errUnavailable, flow.ErrNoPipeline)
	}
	if err := checkText(in); err != nil {
		return MessageReply{}, err
	}
	parts, err := mr.parts(in)
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
		CustomerRef: customerRef, CustomerName: in.DisplayName, Region: in.Region, ReceivedAt: time.Now(), Lease: mr.lease,
		Parts: parts}
	res, err := mr.flow.Answer(ctx, t)
	if err != nil {
		return MessageReply{}, err
	}
	out := MessageReply{Outcome: res.Outcome, Duplicate: res.Duplicate}
	if res.Transcribing {
		out.Status = statusTranscribing
	}
	return out, nil
}

// getConversation returns a conversation's redacted transcript: to its customer (staff
// shown as "agent" with a display name, agents' replies as written while their originals
// are held), to agents through a ticket of it they may see, and to supervisors and admins.
func (mr *messageRoutes) getConversation(c *gin.Context) {
	id := c.Param("id")
	if err := mr.access.mayReadConversation(c, id); err != nil {
		mr.fail(c, err)
		return
	}
	msgs, err := mr.convs.ListMessages(c.Request.Context(), id)
	if err != nil {
		mr.fail(c, err)
		return
	}
	if claimsOf(c).Role == RoleCustomer { // the owner, checked above: agents' replies read as written while held
		if err := mr.convs.CustomerView(c.Request.Context(), id, msgs); err != nil {
			mr.fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"conversation_id": id, "messages": mr.access.customerMessages(c.Request.Context(), msgs)})
		return
	}
	c.JSON(http.StatusOK, gin.H{"conversation_id": id, "messages": nonNil(msgs)})
}

// revealPII returns the originals behind a message's placeholders to a
// permitted reader; every reveal is audited.
func (mr *messageRoutes) revealPII(c *gin.Context) {
	mid, err := strconv.ParseInt(c.Param("mid"), 10, 64)
	if err != nil || mid <= 0 {
		mr.fail(c, fmt.Errorf("%w: message id must be a positive number", errBadRequest))
		return
	}
	secrets, err := mr.tickets.Reveal(c.Request.Context(), actorOf(c), c.Param("id"), mid)
	if err != nil {
		mr.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"conversation_id": c.Param("id"), "message_id": mid, "values": nonNil(secrets)})
}
