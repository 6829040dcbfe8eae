package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

// Push is what an agent's WebSocket receives.
type Push struct {
	Type  string        `json:"type"` // assignment.new, ticket.updated, ticket.created, ticket.sla_breached, note.created, note.mention, typing
	Event tickets.Event `json:"event"`
	// typing pushes: the ticket, and who types ("customer").
	TicketID string `json:"ticket_id,omitempty"`
	Who      string `json:"who,omitempty"`
}

type subscriber struct {
	agentID    string
	supervisor bool
	ch         chan Push
}

// hub fans ticket events (from every instance, via the event channel) out
// to connected agents: an agent gets events of tickets assigned to them or
// taken from them, and notes that mention them; supervisors get everything.
type hub struct {
	log  *slog.Logger
	mu   sync.RWMutex
	subs map[*subscriber]struct{}
}

func newHub(log *slog.Logger) *hub { return &hub{log: log, subs: map[*subscriber]struct{}{}} }

func (h *hub) add(s *subscriber) func() {
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}
}

func (h *hub) dispatch(ev tickets.Event) {
	if ev.TicketID == "" {
		return // conversation messages go to web chat, not the agent hub
	}
	if ev.Type == tickets.EventTyping {
		h.typing(ev)
		return
	}
	typ := ev.Type
	if ev.AssigneeID != "" && ev.AssigneeID != ev.PrevAssignee && ev.Type == "ticket.updated" {
		typ = "assignment.new"
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		mentioned := ev.Type == "note.created" && slices.Contains(ev.Mentions, s.agentID)
		if !s.supervisor && !mentioned && s.agentID != ev.AssigneeID && s.agentID != ev.PrevAssignee {
			continue
		}
		p := Push{Type: typ, Event: ev}
		if s.agentID != ev.AssigneeID && typ == "assignment.new" {
			p.Type = "ticket.updated"
		}
		if mentioned {
			p.Type = "note.mention" // a colleague asks them to look
		}
		select {
		case s.ch <- p:
		default:
			h.log.Warn("websocket subscriber is slow; dropping a push", "agent", s.agentID)
		}
	}
}

// typing tells the agent who holds a ticket that its customer is typing (only them:
// nobody else answers the customer). An agent's own typing goes to the customer.
func (h *hub) typing(ev tickets.Event) {
	if ev.Author != "customer" || ev.AssigneeID == "" {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subs {
		if s.agentID != ev.AssigneeID {
			continue
		}
		select {
		case s.ch <- Push{Type: tickets.EventTyping, Event: ev, TicketID: ev.TicketID, Who: "customer"}:
		default: // a typing indicator is not worth waiting for
		}
	}
}

// agentSockets owns the agents' push WebSocket (GET /v1/me/ws): the ticket events the hub
// fans out to them, and their presence heartbeat while it is open.
type agentSockets struct {
	hub     *hub
	tickets *tickets.Service // nil: no presence heartbeat
	sockets *socketSet
	guard   *sessionGuard
	log     *slog.Logger
}

func (r *agentSockets) websocket(c *gin.Context) {
	cl := claimsOf(c)
	conn, err := r.sockets.accept(c)
	if err != nil {
		return // Accept already wrote the HTTP error
	}
	defer conn.CloseNow()
	defer r.guard.guardSocket(c, conn)() // closes it once the token is no longer valid
	sub := &subscriber{agentID: cl.Subject, supervisor: cl.Role != RoleAgent, ch: make(chan Push, 64)}
	remove := r.hub.add(sub)
	defer remove()
	ctx := conn.CloseRead(c.Request.Context())
	hello, _ := json.Marshal(map[string]string{"type": "hello", "agent_id": cl.Subject})
	if err := conn.Write(ctx, websocket.MessageText, hello); err != nil {
		return
	}
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	present := time.NewTicker(r.keepPresent(ctx, cl.Subject))
	defer present.Stop()
	for {
		select {
		case <-ctx.Done():
			conn.Close(websocket.StatusNormalClosure, "")
			return
		case p := <-sub.ch:
			b, _ := json.Marshal(p)
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				return
			}
		case <-ping.C:
			if err := conn.Ping(ctx); err != nil {
				return
			}
		case <-present.C:
			r.keepPresent(ctx, cl.Subject)
		}
	}
}

// keepPresent sends the presence heartbeat of an open agent socket (tickets.Service
// KeepPresent) and returns when the next one is due: a third of the presence TTL.
func (r *agentSockets) keepPresent(ctx context.Context, subject string) time.Duration {
	if r.tickets == nil {
		return time.Hour
	}
	if err := r.tickets.KeepPresent(ctx, subject); err != nil && ctx.Err() == nil {
		r.log.WarnContext(ctx, "agent presence heartbeat failed", "agent", subject, "err", err)
	}
	return r.tickets.PresenceTTL / 3
}
