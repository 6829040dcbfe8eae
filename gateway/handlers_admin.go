package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

func (s *Server) queues(c *gin.Context) {
	q, err := s.tickets.Queues(c.Request.Context(), s.opts.AtRiskFraction)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"queues": nonNil(q)})
}

func (s *Server) getWeights(c *gin.Context) { c.JSON(http.StatusOK, s.tickets.Router.Weights()) }

func (s *Server) putWeights(c *gin.Context) {
	var w tickets.Weights
	if err := bind(c, &w); err != nil {
		s.fail(c, err)
		return
	}
	if err := s.tickets.PutWeights(c.Request.Context(), claimsOf(c).Subject, w); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, w)
}

func (s *Server) listGroups(c *gin.Context) {
	g, err := s.dir.SkillGroups(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"skill_groups": nonNil(g)})
}

func (s *Server) putGroup(c *gin.Context) {
	var g tickets.SkillGroup
	if err := bind(c, &g); err != nil {
		s.fail(c, err)
		return
	}
	if g.ID != "" && g.ID != c.Param("id") {
		s.fail(c, fmt.Errorf("%w: body id %q differs from path id %q", errBadRequest, g.ID, c.Param("id")))
		return
	}
	g.ID = c.Param("id")
	out, err := s.tickets.PutSkillGroup(c.Request.Context(), claimsOf(c).Subject, g)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) listSLA(c *gin.Context) {
	p, err := s.dir.SLAPolicies(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"sla_policies": p})
}

func (s *Server) putSLA(c *gin.Context) {
	var p tickets.SLAPolicy
	if err := bind(c, &p); err != nil {
		s.fail(c, err)
		return
	}
	if p.Priority != "" && string(p.Priority) != c.Param("priority") {
		s.fail(c, fmt.Errorf("%w: body priority differs from path", errBadRequest))
		return
	}
	p.Priority = tickets.Priority(c.Param("priority"))
	if err := s.tickets.PutSLAPolicy(c.Request.Context(), claimsOf(c).Subject, p); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *Server) listAgents(c *gin.Context) {
	a, err := s.dir.Agents(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"agents": nonNil(a)})
}

func (s *Server) putAgent(c *gin.Context) {
	var a tickets.Agent
	if err := bind(c, &a); err != nil {
		s.fail(c, err)
		return
	}
	if a.ID != "" && a.ID != c.Param("id") {
		s.fail(c, fmt.Errorf("%w: body id differs from path id", errBadRequest))
		return
	}
	a.ID = c.Param("id")
	out, err := s.tickets.PutAgent(c.Request.Context(), claimsOf(c).Subject, a)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) auditLog(c *gin.Context) {
	after, err := strconv.ParseInt(c.DefaultQuery("after", "0"), 10, 64)
	if err != nil || after < 0 {
		s.fail(c, fmt.Errorf("%w: after must be a non-negative event id", errBadRequest))
		return
	}
	ev, err := s.trail.AuditLog(c.Request.Context(), after, 200)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"events": nonNil(ev)})
}

// AuditKeeper verifies the audit chain against the anchors exported outside
// PostgreSQL and writes one on demand (tickets.Anchorer).
type AuditKeeper interface {
	Verify(ctx context.Context) (tickets.AuditReport, error)
	Anchor(ctx context.Context, reason string) (tickets.AuditAnchor, bool, error)
}

// auditVerify answers ok:false with the reason when the chain or an anchor does not
// fit; a failure to read is an error status, never ok:false.
func (s *Server) auditVerify(c *gin.Context) {
	var rep tickets.AuditReport
	var err error
	if s.opts.Audit != nil {
		rep, err = s.opts.Audit.Verify(c.Request.Context())
	} else {
		rep, err = s.trail.VerifyAuditReport(c.Request.Context(), nil)
	}
	switch {
	case errors.Is(err, tickets.ErrAuditChain):
		c.JSON(http.StatusOK, gin.H{"ok": false, "checked": rep.Checked, "error": err.Error(), "report": rep})
	case err != nil:
		s.fail(c, err)
	default:
		c.JSON(http.StatusOK, gin.H{"ok": true, "checked": rep.Checked, "anchored": rep.LatestAnchor != nil, "report": rep})
	}
}

func (s *Server) auditAnchor(c *gin.Context) {
	if s.opts.Audit == nil {
		s.fail(c, fmt.Errorf("%w: audit anchoring is not configured", errUnavailable))
		return
	}
	a, ok, err := s.opts.Audit.Anchor(c.Request.Context(), "manual")
	switch {
	case errors.Is(err, tickets.ErrAuditChain):
		c.JSON(http.StatusConflict, gin.H{"ok": false, "error": err.Error(), "code": "audit_chain"})
	case err != nil:
		s.fail(c, err)
	case !ok:
		c.JSON(http.StatusOK, gin.H{"ok": true, "anchored": false, "reason": "the audit log is empty"})
	default:
		c.JSON(http.StatusOK, gin.H{"ok": true, "anchored": true, "anchor": a})
	}
}

// eraseCustomer erases one person (customer id or pseudonymous id) everywhere: the
// PIPL/GDPR erasure, audited as customer.erase by a non-identifying reference.
func (s *Server) eraseCustomer(c *gin.Context) {
	rep, err := s.tickets.EraseCustomer(c.Request.Context(), claimsOf(c).Subject, c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}
