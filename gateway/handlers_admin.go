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

// adminRoutes owns the supervisors' and admins' configuration of the ticket core: the
// queues, routing weights, skill groups, SLA policies and agents, the erasure of a
// customer, and the admins' staff sign-ins (handlers_staff.go).
type adminRoutes struct {
	errorWriter
	tickets  *tickets.Service
	dir      directory
	reports  reports
	accounts staffAccounts      // nil: the staff routes answer 503
	atRisk   float64            // Options.AtRiskFraction
	hooks    WebhookLog         // nil: the webhook routes answer 503
	rules    QualityRulesEditor // nil: the quality rules routes answer 503
}

func (r *adminRoutes) queues(c *gin.Context) {
	q, err := r.tickets.Queues(c.Request.Context(), r.atRisk)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"queues": nonNil(q)})
}

func (r *adminRoutes) getWeights(c *gin.Context) { c.JSON(http.StatusOK, r.tickets.Router.Weights()) }

func (r *adminRoutes) putWeights(c *gin.Context) {
	var w tickets.Weights
	if err := bind(c, &w); err != nil {
		r.fail(c, err)
		return
	}
	if err := r.tickets.PutWeights(c.Request.Context(), claimsOf(c).Subject, w); err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, w)
}

func (r *adminRoutes) listGroups(c *gin.Context) {
	g, err := r.dir.SkillGroups(c.Request.Context())
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"skill_groups": nonNil(g)})
}

func (r *adminRoutes) putGroup(c *gin.Context) {
	var g tickets.SkillGroup
	if err := bind(c, &g); err != nil {
		r.fail(c, err)
		return
	}
	if g.ID != "" && g.ID != c.Param("id") {
		r.fail(c, fmt.Errorf("%w: body id %q differs from path id %q", errBadRequest, g.ID, c.Param("id")))
		return
	}
	g.ID = c.Param("id")
	out, err := r.tickets.PutSkillGroup(c.Request.Context(), claimsOf(c).Subject, g)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (r *adminRoutes) listSLA(c *gin.Context) {
	p, err := r.dir.SLAPolicies(c.Request.Context())
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"sla_policies": p})
}

func (r *adminRoutes) putSLA(c *gin.Context) {
	var p tickets.SLAPolicy
	if err := bind(c, &p); err != nil {
		r.fail(c, err)
		return
	}
	if p.Priority != "" && string(p.Priority) != c.Param("priority") {
		r.fail(c, fmt.Errorf("%w: body priority differs from path", errBadRequest))
		return
	}
	p.Priority = tickets.Priority(c.Param("priority"))
	if err := r.tickets.PutSLAPolicy(c.Request.Context(), claimsOf(c).Subject, p); err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (r *adminRoutes) listAgents(c *gin.Context) {
	a, err := r.dir.Agents(c.Request.Context())
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"agents": nonNil(a)})
}

func (r *adminRoutes) putAgent(c *gin.Context) {
	var a tickets.Agent
	if err := bind(c, &a); err != nil {
		r.fail(c, err)
		return
	}
	if a.ID != "" && a.ID != c.Param("id") {
		r.fail(c, fmt.Errorf("%w: body id differs from path id", errBadRequest))
		return
	}
	a.ID = c.Param("id")
	out, err := r.tickets.PutAgent(c.Request.Context(), claimsOf(c).Subject, a)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// auditRoutes owns the auditors' routes: the audit log, the verification of its chain
// and its anchors, and a manual anchor.
type auditRoutes struct {
	errorWriter
	trail  auditTrail
	keeper AuditKeeper // nil: the chain is verified alone and anchoring is off
}

func (r *auditRoutes) auditLog(c *gin.Context) {
	after, err := strconv.ParseInt(c.DefaultQuery("after", "0"), 10, 64)
	if err != nil || after < 0 {
		r.fail(c, fmt.Errorf("%w: after must be a non-negative event id", errBadRequest))
		return
	}
	ev, err := r.trail.AuditLog(c.Request.Context(), after, 200)
	if err != nil {
		r.fail(c, err)
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
func (r *auditRoutes) auditVerify(c *gin.Context) {
	var rep tickets.AuditReport
	var err error
	if r.keeper != nil {
		rep, err = r.keeper.Verify(c.Request.Context())
	} else {
		rep, err = r.trail.VerifyAuditReport(c.Request.Context(), nil)
	}
	switch {
	case errors.Is(err, tickets.ErrAuditChain):
		c.JSON(http.StatusOK, gin.H{"ok": false, "checked": rep.Checked, "error": err.Error(), "report": rep})
	case err != nil:
		r.fail(c, err)
	default:
		c.JSON(http.StatusOK, gin.H{"ok": true, "checked": rep.Checked, "anchored": rep.LatestAnchor != nil, "report": rep})
	}
}

func (r *auditRoutes) auditAnchor(c *gin.Context) {
	if r.keeper == nil {
		r.fail(c, fmt.Errorf("%w: audit anchoring is not configured", errUnavailable))
		return
	}
	a, ok, err := r.keeper.Anchor(c.Request.Context(), "manual")
	switch {
	case errors.Is(err, tickets.ErrAuditChain):
		c.JSON(http.StatusConflict, gin.H{"ok": false, "error": err.Error(), "code": "audit_chain"})
	case err != nil:
		r.fail(c, err)
	case !ok:
		c.JSON(http.StatusOK, gin.H{"ok": true, "anchored": false, "reason": "the audit log is empty"})
	default:
		c.JSON(http.StatusOK, gin.H{"ok": true, "anchored": true, "anchor": a})
	}
}

// eraseCustomer erases one person (customer id or pseudonymous id) everywhere: the
// PIPL/GDPR erasure, audited as customer.erase by a non-identifying reference.
func (r *adminRoutes) eraseCustomer(c *gin.Context) {
	rep, err := r.tickets.EraseCustomer(c.Request.Context(), claimsOf(c).Subject, c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}
