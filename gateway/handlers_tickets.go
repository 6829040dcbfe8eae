package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/tickets"
)

func actorOf(c *gin.Context) tickets.Actor {
	cl := claimsOf(c)
	return tickets.Actor{ID: cl.Subject, Supervisor: cl.Role == RoleSupervisor || cl.Role == RoleAdmin}
}

// ticketRoutes owns the ticket API (/v1/tickets…: open, list, read, suggestions, claim,
// reply, transfer, resolve, close, reopen) and the agents' queue, status and presence
// (/v1/me/…, and a supervisor's PUT /v1/agents/:id/status).
type ticketRoutes struct {
	errorWriter
	tickets *tickets.Service
	dir     directory
	suggest flow.Answerer // KB passages for agents (nil: none suggested)
	wake    func()        // tells the queue workers a reply waits to be delivered (nil: none)
	atRisk  float64       // Options.AtRiskFraction: the sla=at_risk filter
	// assist suggests reply drafts (nil: none); canCompose: a language model drafts too.
	assist     replyAssist
	canCompose bool
}

// ticketResponse is a ticket with the assignment that routing made, if any.
type ticketResponse struct {
	Ticket     tickets.Ticket      `json:"ticket"`
	Assignment *tickets.Assignment `json:"assignment"`
}

// createTicket opens a ticket. An agent may name only a conversation they can see
// through one of its tickets; only a supervisor sets a VIP tier or replaces a known
// customer's email or phone (the ticket core refuses that with 403).
func (r *ticketRoutes) createTicket(c *gin.Context) {
	var in tickets.NewTicket
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	if in.ConversationID != "" {
		if err := r.tickets.CanSeeConversation(c.Request.Context(), actorOf(c), in.ConversationID); err != nil {
			r.fail(c, err)
			return
		}
	}
	t, a, err := r.tickets.CreateTicket(c.Request.Context(), actorOf(c), in)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, ticketResponse{Ticket: t, Assignment: a})
}

// listTickets serves the console's ticket lists: view (mine, waiting, open, resolved),
// filters (status, assignee, customer_name, tag, priority, channel, sla: breached,
// at_risk or ok), search (q: the redacted conversation, the subject, or the customer's
// whole name) and a time window. An agent lists only tickets they hold or held and those
// waiting in their groups.
func (r *ticketRoutes) listTickets(c *gin.Context) {
	f := tickets.TicketFilter{Status: tickets.Status(c.Query("status")), AssigneeID: c.Query("assignee"),
		CustomerName: c.Query("customer_name"), Tag: c.Query("tag"), Priority: tickets.Priority(c.Query("priority")),
		Text: c.Query("q"), View: tickets.View(c.Query("view")), Channel: c.Query("channel"),
		SLA: tickets.SLAState(c.Query("sla")), AtRiskFraction: r.atRisk}
	if claimsOf(c).Role == RoleAgent && f.AssigneeID != "" && f.AssigneeID != claimsOf(c).Subject {
		r.fail(c, fmt.Errorf("assignee: an agent lists their own tickets and those waiting in their groups: %w", tickets.ErrForbidden))
		return
	}
	for name, v := range map[string]string{"q": f.Text, "tag": f.Tag, "channel": f.Channel, "customer_name": f.CustomerName} {
		if utf8.RuneCountInString(v) > 200 {
			r.fail(c, fmt.Errorf("%w: %s: at most 200 characters", errBadRequest, name))
			return
		}
	}
	var err error
	if v := c.Query("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
			r.fail(c, fmt.Errorf("%w: since must be RFC 3339 (2026-01-02T15:04:05Z)", errBadRequest))
			return
		}
	}
	if v := c.Query("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 500 {
			r.fail(c, fmt.Errorf("%w: limit must be 1 to 500", errBadRequest))
			return
		}
	}
	list, err := r.tickets.ListTickets(c.Request.Context(), actorOf(c), f)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"tickets": nonNil(list)})
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func (r *ticketRoutes) getTicket(c *gin.Context) {
	d, err := r.tickets.Detail(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	d.Messages, d.Assignments, d.Notes = nonNil(d.Messages), nonNil(d.Assignments), nonNil(d.Notes)
	c.JSON(http.StatusOK, d)
}

// suggestions are the knowledge-base passages for a ticket's latest customer message,
// for the agent to answer from.
func (r *ticketRoutes) suggestions(c *gin.Context) {
	d, err := r.tickets.Detail(c.Request.Context(), actorOf(c), c.Param("id")) // the caller must see the ticket
	if err != nil {
		r.fail(c, err)
		return
	}
	if r.suggest == nil {
		c.JSON(http.StatusOK, gin.H{"query": "", "passages": []any{}})
		return
	}
	// The customer's last few messages: a request for a human rarely says what about.
	var recent []string
	for _, m := range slices.Backward(d.Messages) {
		if m.Author == "customer" && len(recent) < 3 {
			recent = append(recent, flow.ForModels(m.Text))
		}
	}
	slices.Reverse(recent)
	query := strings.Join(recent, "\n")
	if query == "" {
		c.JSON(http.StatusOK, gin.H{"query": "", "passages": []any{}})
		return
	}
	ans, err := r.suggest.Answer(c.Request.Context(), query)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"query": query, "answer": ans.Text, "confidence": ans.Confidence, "passages": nonNil(ans.Citations)})
}

// addNote adds an internal note to the ticket; "@agent" in it tells that agent.
func (r *ticketRoutes) addNote(c *gin.Context) {
	var in struct {
		Text string `json:"text"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	n, err := r.tickets.AddNote(c.Request.Context(), actorOf(c), c.Param("id"), in.Text)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"note": n})
}

// setPriority changes the ticket's priority, and with it its SLA deadlines.
func (r *ticketRoutes) setPriority(c *gin.Context) {
	var in struct {
		Priority tickets.Priority `json:"priority"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	t, a, err := r.tickets.SetPriority(c.Request.Context(), actorOf(c), c.Param("id"), in.Priority)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ticketResponse{Ticket: t, Assignment: a})
}

// setTags replaces the ticket's tags.
func (r *ticketRoutes) setTags(c *gin.Context) {
	var in struct {
		Tags []string `json:"tags"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	t, err := r.tickets.SetTags(c.Request.Context(), actorOf(c), c.Param("id"), in.Tags)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

func (r *ticketRoutes) claim(c *gin.Context) {
	t, err := r.tickets.Claim(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

func (r *ticketRoutes) reply(c *gin.Context) {
	var in struct {
		Text string `json:"text"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	t, m, err := r.tickets.Reply(c.Request.Context(), actorOf(c), c.Param("id"), in.Text)
	if err != nil {
		r.fail(c, err)
		return
	}
	if r.wake != nil {
		r.wake() // a worker delivers the reply to the customer's channel
	}
	c.JSON(http.StatusCreated, gin.H{"ticket": t, "message": m})
}

func (r *ticketRoutes) transfer(c *gin.Context) {
	var in struct {
		Group string `json:"group"`
		Agent string `json:"agent"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	t, a, err := r.tickets.Transfer(c.Request.Context(), actorOf(c), c.Param("id"), in.Group, in.Agent)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ticketResponse{Ticket: t, Assignment: a})
}

func (r *ticketRoutes) resolve(c *gin.Context) {
	t, err := r.tickets.Resolve(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	if r.wake != nil {
		r.wake() // a push channel's customer gets the invitation to rate the help
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

func (r *ticketRoutes) closeTicket(c *gin.Context) {
	t, err := r.tickets.Close(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

func (r *ticketRoutes) reopen(c *gin.Context) {
	t, a, err := r.tickets.Reopen(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ticketResponse{Ticket: t, Assignment: a})
}

func (r *ticketRoutes) myQueue(c *gin.Context) {
	q, err := r.tickets.AgentQueue(c.Request.Context(), claimsOf(c).Subject)
	if err != nil {
		r.fail(c, err)
		return
	}
	q.Mine, q.Waiting = nonNil(q.Mine), nonNil(q.Waiting)
	c.JSON(http.StatusOK, q)
}

func (r *ticketRoutes) myStatus(c *gin.Context) {
	a, err := r.dir.GetAgent(c.Request.Context(), claimsOf(c).Subject)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

// statusRequest sets presence and optionally capacity.
type statusRequest struct {
	Status   tickets.AgentStatus `json:"status"`
	Capacity *int                `json:"capacity"`
}

func (r *ticketRoutes) applyStatus(c *gin.Context, agentID string, set func(context.Context, string, tickets.AgentStatus, int) (tickets.Agent, error)) {
	var in statusRequest
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	capacity := -1
	if in.Capacity != nil {
		if *in.Capacity < 0 {
			r.fail(c, fmt.Errorf("%w: capacity must be ≥ 0", errBadRequest))
			return
		}
		capacity = *in.Capacity
	}
	a, err := set(c.Request.Context(), agentID, in.Status, capacity)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

// setMyStatus: an agent's own status and capacity (up to the maximum a supervisor set);
// it counts as a heartbeat.
func (r *ticketRoutes) setMyStatus(c *gin.Context) {
	r.applyStatus(c, claimsOf(c).Subject, r.tickets.SetOwnStatus)
}

// setAgentStatus: a supervisor sets an agent's status and capacity (audited).
func (r *ticketRoutes) setAgentStatus(c *gin.Context) {
	by := claimsOf(c).Subject
	r.applyStatus(c, c.Param("id"), func(ctx context.Context, id string, st tickets.AgentStatus, capacity int) (tickets.Agent, error) {
		return r.tickets.SetAgentStatusBy(ctx, by, id, st, capacity)
	})
}

// heartbeat keeps an API-only agent present (the console's WebSocket does it by itself):
// call it more often than presence_ttl_seconds, or the agent goes offline.
func (r *ticketRoutes) heartbeat(c *gin.Context) {
	a, err := r.tickets.Heartbeat(c.Request.Context(), claimsOf(c).Subject)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"agent": a, "presence_ttl_seconds": int(r.tickets.PresenceTTL / time.Second)})
}

// signOut sets the signed-in agent offline (the tickets they hold stay theirs).
func (r *ticketRoutes) signOut(c *gin.Context) {
	a, err := r.tickets.SignOut(c.Request.Context(), claimsOf(c).Subject)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}
