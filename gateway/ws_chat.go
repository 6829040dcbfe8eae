package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/internal/safe"
	"github.com/switchboard-cs/switchboard/tickets"
)

// ChatFrame is one web-chat WebSocket frame. Server → client: "message"
// (with Seq, the message id: a reconnect passes the last seen Seq as
// ?after= and receives everything newer), "draft" (with a language model
// configured, the bot's answer to the client's message MessageID so far, while
// it is written: each draft replaces the last, and the "reply" that follows is
// the final word), "reply" (the bot's decision for the client's own message),
// "error". Client → server: "message".
type ChatFrame struct {
	Type           string        `json:"type"`
	Seq            int64         `json:"seq,omitempty"`
	ConversationID string        `json:"conversation_id,omitempty"`
	Author         string        `json:"author,omitempty"`      // staff: "agent" (never their subject)
	AuthorName     string        `json:"author_name,omitempty"` // the agent's display name
	Text           string        `json:"text,omitempty"`
	MessageID      string        `json:"message_id,omitempty"` // client's idempotency key
	Region         string        `json:"region,omitempty"`     // customer's: the browser's locale region
	At             *time.Time    `json:"at,omitempty"`
	Reply          *MessageReply `json:"reply,omitempty"`
	Error          string        `json:"error,omitempty"`
}

// chatHub tells web-chat sessions that their conversation has news.
type chatHub struct {
	mu   sync.RWMutex
	subs map[string]map[chan struct{}]struct{} // conversation → sessions
}

func newChatHub() *chatHub { return &chatHub{subs: map[string]map[chan struct{}]struct{}{}} }

func (h *chatHub) watch(conv string, ch chan struct{}) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[conv] == nil {
		h.subs[conv] = map[chan struct{}]struct{}{}
	}
	h.subs[conv][ch] = struct{}{}
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs[conv], ch)
		if len(h.subs[conv]) == 0 {
			delete(h.subs, conv)
		}
	}
}

// dispatch wakes the sessions of a conversation with a new message, or, after
// the event listener reconnected (events may have been missed), every session.
func (h *chatHub) dispatch(ev tickets.Event) {
	if ev.Type != "message.created" && ev.Type != tickets.EventResync {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	if ev.Type == tickets.EventResync {
		for _, subs := range h.subs {
			for ch := range subs {
				wake(ch)
			}
		}
		return
	}
	for ch := range h.subs[ev.ConversationID] {
		wake(ch)
	}
}

// wake signals ch unless a wake-up is already pending (it will read
// everything new).
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// chatSockets owns the customers' web-chat WebSocket (GET /v1/chat/ws): each session
// follows its conversation through the chat hub, and sends the customer's messages as
// turns, rate-limited like the REST channel.
type chatSockets struct {
	errorWriter
	chat    *chatHub
	convs   conversationRecords
	access  *conversationAccess
	limits  *limits
	sockets *socketSet
	guard   *sessionGuard
	panics  *safe.Guard // recovers the sessions' readers
	// answer is a customer's text turn (Server.customerText).
	answer func(ctx context.Context, customerRef string, in messageRequest) (MessageReply, error)
	ping   time.Duration // keep-alive, which also re-reads the conversation (0: 30s)
}

// chatSession is one customer's web-chat socket.
type chatSession struct {
	r        *chatSockets // the route that opened it
	conn     *websocket.Conn
	customer string
	mu       sync.Mutex // serializes writes and guards conv/last
	conv     string
	last     int64
	wake     chan struct{}
	unwatch  func()
}

func (r *chatSockets) chatSocket(c *gin.Context) {
	cl := claimsOf(c)
	conv := c.Query("conversation_id")
	after, err := strconv.ParseInt(c.DefaultQuery("after", "0"), 10, 64)
	if err != nil || after < 0 {
		r.fail(c, fmt.Errorf("%w: after must be the last seen seq", errBadRequest))
		return
	}
	if conv != "" {
		if err := r.access.ownsConversation(c.Request.Context(), cl.Subject, conv); err != nil {
			r.fail(c, err)
			return
		}
	}
	conn, err := r.sockets.accept(c)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	defer r.guard.guardSocket(c, conn)() // closes it once the token is no longer valid
	cs := &chatSession{r: r, conn: conn, customer: cl.Subject, last: after, wake: make(chan struct{}, 1)}
	defer func() {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if cs.unwatch != nil {
			cs.unwatch()
		}
	}()
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	if conv != "" {
		cs.follow(conv)
		select { // send the backlog after `after` (a pending wake-up does the same)
		case cs.wake <- struct{}{}:
		default:
		}
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer cancel() // also after a panic
		_ = r.panics.Run("chat.read", func() { cs.readLoop(ctx, cancel, c.ClientIP()) })
	}()
	cs.writeLoop(ctx)
	cancel()
	<-readDone // the reader may still follow a conversation: wait before unwatching
}

func (cs *chatSession) follow(conv string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.conv == conv {
		return
	}
	if cs.unwatch != nil {
		cs.unwatch()
	}
	cs.conv = conv
	cs.unwatch = cs.r.chat.watch(conv, cs.wake)
}

func (cs *chatSession) send(ctx context.Context, f ChatFrame) error {
	b, _ := json.Marshal(f)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.conn.Write(wctx, websocket.MessageText, b)
}

// readLoop handles the customer's messages.
func (cs *chatSession) readLoop(ctx context.Context, cancel context.CancelFunc, ip string) {
	defer cancel()
	cs.conn.SetReadLimit(64 << 10)
	for {
		_, data, err := cs.conn.Read(ctx)
		if err != nil {
			return
		}
		if !utf8.Valid(data) { // encoding/json would quietly replace the bytes
			_ = cs.send(ctx, ChatFrame{Type: "error", Error: "invalid: a frame must be UTF-8 JSON"})
			continue
		}
		var f ChatFrame
		if json.Unmarshal(data, &f) != nil || f.Type != "message" {
			_ = cs.send(ctx, ChatFrame{Type: "error", Error: `send {"type":"message","text":"…"}`})
			continue
		}
		cs.mu.Lock()
		conv := cs.conv
		cs.mu.Unlock()
		drafts := flow.WithDrafts(ctx, func(soFar string) {
			_ = cs.send(ctx, ChatFrame{Type: "draft", MessageID: f.MessageID, Text: soFar})
		})
		out, err := cs.r.chatTurn(drafts, ip, cs.customer, messageRequest{MessageID: f.MessageID, ConversationID: conv, Region: f.Region, Text: f.Text})
		if err != nil {
			status, code := statusOf(err)
			msg := err.Error()
			if status >= 500 {
				cs.r.log.Error("web chat turn failed", "err", err)
				msg = "internal error"
			}
			_ = cs.send(ctx, ChatFrame{Type: "error", Error: code + ": " + msg, MessageID: f.MessageID})
			continue
		}
		cs.follow(out.ConversationID)
		_ = cs.send(ctx, ChatFrame{Type: "reply", ConversationID: out.ConversationID, MessageID: f.MessageID, Reply: &out})
		wake(cs.wake)
	}
}

// writeLoop pushes every message of the conversation newer than the last
// one sent, whenever the hub says there is news, and on every keep-alive
// ping (in case an event was lost).
func (cs *chatSession) writeLoop(ctx context.Context) {
	every := cs.r.ping
	if every <= 0 {
		every = 30 * time.Second
	}
	ping := time.NewTicker(every)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			cs.conn.Close(websocket.StatusNormalClosure, "")
			return
		case <-ping.C:
			if err := cs.conn.Ping(ctx); err != nil {
				return
			}
			_ = cs.flush(ctx) // a broken socket fails the next ping; a store error waits for the next try
		case <-cs.wake:
			if err := cs.flush(ctx); err != nil {
				return
			}
		}
	}
}

func (cs *chatSession) flush(ctx context.Context) error {
	for {
		cs.mu.Lock()
		conv, last := cs.conv, cs.last
		cs.mu.Unlock()
		if conv == "" {
			return nil
		}
		msgs, err := cs.r.convs.MessagesAfter(ctx, conv, last)
		if err != nil || len(msgs) == 0 {
			return err
		}
		// The session is the conversation's customer (checked when it was
		// followed): agents' replies read as written while held.
		if err := cs.r.convs.CustomerView(ctx, conv, msgs); err != nil {
			return err
		}
		names := cs.r.access.staffNames()
		for _, m := range msgs {
			at := m.CreatedAt
			author, name := names.author(ctx, m.Author)
			if err := cs.send(ctx, ChatFrame{Type: "message", Seq: m.ID, ConversationID: conv, Author: author, AuthorName: name, Text: m.Text, At: &at}); err != nil {
				return err
			}
			cs.mu.Lock()
			cs.last = m.ID
			cs.mu.Unlock()
		}
	}
}

// chatTurn is one web-chat message: rate-limited like the REST channel.
func (r *chatSockets) chatTurn(ctx context.Context, ip, customer string, in messageRequest) (MessageReply, error) {
	if _, err := r.limits.allow(ctx, ip, customer); err != nil {
		return MessageReply{}, err
	}
	return r.answer(ctx, customer, in)
}
