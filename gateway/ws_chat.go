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
	"github.com/switchboard-cs/switchboard/internal/tracing"
	"github.com/switchboard-cs/switchboard/tickets"
)

// ChatFrame is one web-chat WebSocket frame. Server → client: "message"
// (with Seq, the message id: a reconnect passes the last seen Seq as
// ?after= and receives everything newer), "draft" (with a language model
// configured, the bot's answer to the client's message MessageID so far, while
// it is written: each draft replaces the last, and the "reply" that follows is
// the final word), "reply" (the bot's decision for the client's own message),
// "error", "typing" (an agent is writing a reply: Author "agent" and AuthorName; show it
// for a few seconds). Client → server: "message", and "typing" while the customer types
// (at most one every two seconds counts; the agent holding the ticket is told).
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
	// RetryAfter (seconds) is on an "error" frame when a data store is unavailable: send
	// the same message (same message_id) again after it, as after a REST 503.
	RetryAfter int `json:"retry_after,omitempty"`
	// Attachment is the file or image an agent sent with a message (fetch its content
	// from GET /v1/conversations/:id/attachments/:attachment).
	Attachment *tickets.Attachment `json:"attachment,omitempty"`
}

// chatHub tells web-chat sessions that their conversation has news, or that an agent
// is typing in it.
type chatHub struct {
	mu   sync.RWMutex
	subs map[string]map[*chatWatch]struct{} // conversation → sessions
}

// chatWatch is how a session hears of its conversation.
type chatWatch struct {
	wake   chan struct{} // news: read what is new
	typing chan string   // the id of an agent typing a reply
}

func newChatHub() *chatHub { return &chatHub{subs: map[string]map[*chatWatch]struct{}{}} }

func (h *chatHub) watch(conv string, w *chatWatch) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[conv] == nil {
		h.subs[conv] = map[*chatWatch]struct{}{}
	}
	h.subs[conv][w] = struct{}{}
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.subs[conv], w)
		if len(h.subs[conv]) == 0 {
			delete(h.subs, conv)
		}
	}
}

// dispatch wakes the sessions of a conversation with a new message, or, after
// the event listener reconnected (events may have been missed), every session; and tells
// the sessions of a conversation that an agent is typing in it.
func (h *chatHub) dispatch(ev tickets.Event) {
	if ev.Type != "message.created" && ev.Type != tickets.EventResync && ev.Type != tickets.EventTyping {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	switch ev.Type {
	case tickets.EventResync:
		for _, subs := range h.subs {
			for w := range subs {
				wake(w.wake)
			}
		}
	case tickets.EventTyping:
		agent := tickets.TypingAgent(ev)
		if agent == "" {
			return // the customer's own typing goes to the agent
		}
		for w := range h.subs[ev.ConversationID] {
			select {
			case w.typing <- agent:
			default: // one already waits to be shown
			}
		}
	default:
		for w := range h.subs[ev.ConversationID] {
			wake(w.wake)
		}
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
	ping   time.Duration  // keep-alive, which also re-reads the conversation (0: 30s)
	typist customerTypist // nil: a customer's typing tells nobody
}

// customerTypist tells the agent holding a conversation's ticket that its customer types.
type customerTypist interface {
	CustomerTyping(ctx context.Context, conversationID string) error
}

// typingEvery is how often a session's typing frames count (and, in the console, an
// agent's): more often, they are dropped.
const typingEvery = 2 * time.Second

// chatSession is one customer's web-chat socket.
type chatSession struct {
	r        *chatSockets // the route that opened it
	conn     *websocket.Conn
	customer string
	mu       sync.Mutex // serializes writes and guards conv/last
	conv     string
	last     int64
	wake     chan struct{}
	typing   chan string // agents typing in the conversation (chatWatch)
	typedAt  time.Time   // when the customer's last typing frame counted (the reader's)
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
	cs := &chatSession{r: r, conn: conn, customer: cl.Subject, last: after, wake: make(chan struct{}, 1), typing: make(chan string, 1)}
	defer func() {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if cs.unwatch != nil {
			cs.unwatch()
		}
	}()
	ctx, cancel := context.WithCancel(tracing.OwnTraces(c.Request.Context())) // a trace per turn, not per socket
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
	cs.unwatch = cs.r.chat.watch(conv, &chatWatch{wake: cs.wake, typing: cs.typing})
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
		err = json.Unmarshal(data, &f)
		if err == nil && f.Type == "typing" {
			cs.typed(ctx)
			continue
		}
		if err != nil || f.Type != "message" {
			_ = cs.send(ctx, ChatFrame{Type: "error", Error: `send {"type":"message","text":"…"} or {"type":"typing"}`})
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
			_ = cs.send(ctx, cs.errorFrame(ctx, f.MessageID, err))
			continue
		}
		cs.follow(out.ConversationID)
		_ = cs.send(ctx, ChatFrame{Type: "reply", ConversationID: out.ConversationID, MessageID: f.MessageID, Reply: &out})
		wake(cs.wake)
	}
}

// errorFrame is the answer to a message whose turn failed: like the REST API's, a
// server error without its detail, and when a data store is unavailable the message's
// retry_after.
func (cs *chatSession) errorFrame(ctx context.Context, messageID string, err error) ChatFrame {
	status, code := statusOf(err)
	f := ChatFrame{Type: "error", MessageID: messageID}
	msg := err.Error()
	switch {
	case tickets.IsUnavailable(err):
		cs.r.log.WarnContext(ctx, "web chat turn failed: a data store is unavailable", "err", err)
		msg, f.RetryAfter = "the database is unavailable; send the message again in a few seconds", retryAfterSeconds
	case status >= 500:
		cs.r.log.ErrorContext(ctx, "web chat turn failed", "err", err)
		msg = "internal error"
	}
	f.Error = code + ": " + msg
	return f
}

// typed tells the agent who holds the conversation's ticket that the customer is
// typing: at most once every typingEvery (more frames are dropped), and only in a
// conversation the session follows (its customer's, checked when followed).
func (cs *chatSession) typed(ctx context.Context) {
	cs.mu.Lock()
	conv := cs.conv
	cs.mu.Unlock()
	now := time.Now()
	if conv == "" || cs.r.typist == nil || now.Sub(cs.typedAt) < typingEvery {
		return
	}
	cs.typedAt = now
	if err := cs.r.typist.CustomerTyping(ctx, conv); err != nil && ctx.Err() == nil {
		cs.r.log.Warn("web chat: a customer's typing was not passed on", "err", err)
	}
}

// writeLoop pushes every message of the conversation newer than the last
// one sent, whenever the hub says there is news, and on every keep-alive
// ping (in case an event was lost). A store that fails to answer (PostgreSQL
// restarting) leaves the socket open: the read is tried again every
// flushRetry until it works.
func (cs *chatSession) writeLoop(ctx context.Context) {
	every := cs.r.ping
	if every <= 0 {
		every = 30 * time.Second
	}
	ping := time.NewTicker(every)
	defer ping.Stop()
	var retry <-chan time.Time // set while the store failed the last read
	push := func() bool {
		storeErr, sendErr := cs.flush(ctx)
		if storeErr != nil && ctx.Err() == nil {
			retry = time.After(flushRetry)
		}
		return sendErr == nil
	}
	for {
		select {
		case <-ctx.Done():
			cs.conn.Close(websocket.StatusNormalClosure, "")
			return
		case <-ping.C:
			if err := cs.conn.Ping(ctx); err != nil {
				return
			}
			push() // a broken socket fails the next ping
		case <-retry:
			retry = nil
			if !push() {
				return
			}
		case <-cs.wake:
			if !push() {
				return
			}
		case agent := <-cs.typing:
			if err := cs.showTyping(ctx, agent); err != nil {
				return
			}
		}
	}
}

// flushRetry is how soon a session whose store read failed reads again.
const flushRetry = time.Second

// flush sends the conversation's messages after the last one sent: storeErr when
// they could not be read, sendErr when the socket failed.
func (cs *chatSession) flush(ctx context.Context) (storeErr, sendErr error) {
	for {
		cs.mu.Lock()
		conv, last := cs.conv, cs.last
		cs.mu.Unlock()
		if conv == "" {
			return nil, nil
		}
		msgs, err := cs.r.convs.MessagesAfter(ctx, conv, last)
		if err != nil || len(msgs) == 0 {
			return err, nil
		}
		// The session is the conversation's customer (checked when it was
		// followed): agents' replies read as written while held.
		if err := cs.r.convs.CustomerView(ctx, conv, msgs); err != nil {
			return err, nil
		}
		names := cs.r.access.staffNames()
		for _, m := range msgs {
			at := m.CreatedAt
			author, name := names.author(ctx, m.Author)
			if err := cs.send(ctx, ChatFrame{Type: "message", Seq: m.ID, ConversationID: conv, Author: author, AuthorName: name,
				Text: m.Text, At: &at, Attachment: m.Attachment}); err != nil {
				return nil, err
			}
			cs.mu.Lock()
			cs.last = m.ID
			cs.mu.Unlock()
		}
	}
}

// showTyping tells the customer that an agent is typing, by display name like their
// messages (never by subject).
func (cs *chatSession) showTyping(ctx context.Context, agent string) error {
	cs.mu.Lock()
	conv := cs.conv
	cs.mu.Unlock()
	author, name := cs.r.access.staffNames().author(ctx, "agent:"+agent)
	return cs.send(ctx, ChatFrame{Type: "typing", ConversationID: conv, Author: author, AuthorName: name})
}

// chatTurn is one web-chat message: rate-limited like the REST channel.
func (r *chatSockets) chatTurn(ctx context.Context, ip, customer string, in messageRequest) (MessageReply, error) {
	if _, err := r.limits.allow(ctx, ip, customer); err != nil {
		return MessageReply{}, err
	}
	return r.answer(ctx, customer, in)
}
