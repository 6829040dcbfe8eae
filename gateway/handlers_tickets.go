package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

func actorOf(c *gin.Context) tickets.Actor {
	cl := claimsOf(c)
	return tickets.Actor{ID: cl.Subject, Supervisor: cl.Role == RoleSupervisor || cl.Role == RoleAdmin}
}

// ticketResponse is a ticket with the assignment that routing made, if any.
type ticketResponse struct {
	Ticket     tickets.Ticket      `json:"ticket"`
	Assignment *tickets.Assignment `json:"assignment"`
}

// createTicket opens a ticket. An agent may name only a conversation they can see
// through one of its tickets; only a supervisor sets a VIP tier or replaces a known
// customer's email or phone (the ticket core refuses that with 403).
func (s *Server) createTicket(c *gin.Context) {
	var in tickets.NewTicket
	if err := bind(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	if in.ConversationID != "" {
		if err := s.tickets.CanSeeConversation(c.Request.Context(), actorOf(c), in.ConversationID); err != nil {
			s.fail(c, err)
			return
		}
	}
	t, a, err := s.tickets.CreateTicket(c.Request.Context(), actorOf(c), in)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, ticketResponse{Ticket: t, Assignment: a})
}

func (s *Server) listTickets(c *gin.Context) {
	f := tickets.TicketFilter{Status: tickets.Status(c.Query("status")), AssigneeID: c.Query("assignee"),
		CustomerName: c.Query("customer_name")}
	var err error
	if v := c.Query("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
			s.fail(c, fmt.Errorf("%w: since must be RFC 3339 (2026-01-02T15:04:05Z)", errBadRequest))
			return
		}
	}
	if v := c.Query("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 500 {
			s.fail(c, fmt.Errorf("%w: limit must be 1 to 500", errBadRequest))
			return
		}
	}
	list, err := s.dir.ListTickets(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
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

func (s *Server) getTicket(c *gin.Context) {
	d, err := s.tickets.Detail(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	d.Messages, d.Assignments = nonNil(d.Messages), nonNil(d.Assignments)
	c.JSON(http.StatusOK, d)
}

func (s *Server) claim(c *gin.Context) {
	t, err := s.tickets.Claim(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

func (s *Server) reply(c *gin.Context) {
	var in struct {
		Text string `json:"text"`
	}
	if err := bind(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	t, m, err := s.tickets.Reply(c.Request.Context(), actorOf(c), c.Param("id"), in.Text)
	if err != nil {
		s.fail(c, err)
		return
	}
	if s.opts.Wake != nil {
		s.opts.Wake() // a worker delivers the reply to the customer's channel
	}
	c.JSON(http.StatusCreated, gin.H{"ticket": t, "message": m})
}

func (s *Server) transfer(c *gin.Context) {
	var in struct {
		Group string `json:"group"`
		Agent string `json:"agent"`
	}
	if err := bind(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	t, a, err := s.tickets.Transfer(c.Request.Context(), actorOf(c), c.Param("id"), in.Group, in.Agent)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ticketResponse{Ticket: t, Assignment: a})
}

func (s *Server) resolve(c *gin.Context) {
	t, err := s.tickets.Resolve(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

func (s *Server) closeTicket(c *gin.Context) {
	t, err := s.tickets.Close(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

func (s *Server) reopen(c *gin.Context) {
	t, a, err := s.tickets.Reopen(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ticketResponse{Ticket: t, Assignment: a})
}

func (s *Server) myQueue(c *gin.Context) {
	q, err := s.tickets.AgentQueue(c.Request.Context(), claimsOf(c).Subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	q.Mine, q.Waiting = nonNil(q.Mine), nonNil(q.Waiting)
	c.JSON(http.StatusOK, q)
}

func (s *Server) myStatus(c *gin.Context) {
	a, err := s.dir.GetAgent(c.Request.Context(), claimsOf(c).Subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

// statusRequest sets presence and optionally capacity.
type statusRequest struct {
	Status   tickets.AgentStatus `json:"status"`
	Capacity *int                `json:"capacity"`
}

func (s *Server) applyStatus(c *gin.Context, agentID string, set func(context.Context, string, tickets.AgentStatus, int) (tickets.Agent, error)) {
	var in statusRequest
	if err := bind(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	capacity := -1
	if in.Capacity != nil {
		if *in.Capacity < 0 {
			s.fail(c, fmt.Errorf("%w: capacity must be ≥ 0", errBadRequest))
			return
		}
		capacity = *in.Capacity
	}
	a, err := set(c.Request.Context(), agentID, in.Status, capacity)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

// setMyStatus: an agent's own status and capacity (up to the maximum a supervisor set);
// it counts as a heartbeat.
func (s *Server) setMyStatus(c *gin.Context) {
	s.applyStatus(c, claimsOf(c).Subject, s.tickets.SetOwnStatus)
}

// setAgentStatus: a supervisor sets an agent's status and capacity (audited).
func (s *Server) setAgentStatus(c *gin.Context) {
	by := claimsOf(c).Subject
	s.applyStatus(c, c.Param("id"), func(ctx context.Context, id string, st tickets.AgentStatus, capacity int) (tickets.Agent, error) {
		return s.tickets.SetAgentStatusBy(ctx, by, id, st, capacity)
	})
}

// heartbeat keeps an API-only agent present (the console's WebSocket does it by itself):
// call it more often than presence_ttl_seconds, or the agent goes offline.
func (s *Server) heartbeat(c *gin.Context) {
	a, err := s.tickets.Heartbeat(c.Request.Context(), claimsOf(c).Subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"agent": a, "presence_ttl_seconds": int(s.tickets.PresenceTTL / time.Second)})
}

// signOut sets the signed-in agent offline (the tickets they hold stay theirs).
func (s *Server) signOut(c *gin.Context) {
	a, err := s.tickets.SignOut(c.Request.Context(), claimsOf(c).Subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}
