package gateway

import (
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

func (s *Server) createTicket(c *gin.Context) {
	var in tickets.NewTicket
	if err := bind(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	t, a, err := s.tickets.CreateTicket(c, actorOf(c), in)
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
	list, err := s.tickets.Store.ListTickets(c, f)
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
	d, err := s.tickets.Detail(c, actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	d.Messages, d.Assignments = nonNil(d.Messages), nonNil(d.Assignments)
	c.JSON(http.StatusOK, d)
}

func (s *Server) claim(c *gin.Context) {
	t, err := s.tickets.Claim(c, actorOf(c), c.Param("id"))
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
	t, m, err := s.tickets.Reply(c, actorOf(c), c.Param("id"), in.Text)
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
	t, a, err := s.tickets.Transfer(c, actorOf(c), c.Param("id"), in.Group, in.Agent)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ticketResponse{Ticket: t, Assignment: a})
}

func (s *Server) resolve(c *gin.Context) {
	t, err := s.tickets.Resolve(c, actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

func (s *Server) closeTicket(c *gin.Context) {
	t, err := s.tickets.Close(c, actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"ticket": t})
}

func (s *Server) reopen(c *gin.Context) {
	t, a, err := s.tickets.Reopen(c, actorOf(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ticketResponse{Ticket: t, Assignment: a})
}

func (s *Server) myQueue(c *gin.Context) {
	q, err := s.tickets.AgentQueue(c, claimsOf(c).Subject)
	if err != nil {
		s.fail(c, err)
		return
	}
	q.Mine, q.Waiting = nonNil(q.Mine), nonNil(q.Waiting)
	c.JSON(http.StatusOK, q)
}

func (s *Server) myStatus(c *gin.Context) {
	a, err := s.tickets.Store.GetAgent(c, claimsOf(c).Subject)
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

func (s *Server) applyStatus(c *gin.Context, agentID string) {
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
	a, err := s.tickets.SetAgentStatus(c, agentID, in.Status, capacity)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}

func (s *Server) setMyStatus(c *gin.Context)    { s.applyStatus(c, claimsOf(c).Subject) }
func (s *Server) setAgentStatus(c *gin.Context) { s.applyStatus(c, c.Param("id")) }
