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

// qualityConversations lists inspected conversations for the supervisors' QA view:
// ?flagged=true for the flagged ones alone, ?agent=, ?group=, ?from= and ?to= (RFC 3339
// or a date; default the last 7 days), ?limit= (default 50, at most 500).
func (r *adminRoutes) qualityConversations(c *gin.Context) {
	from, to, _, err := qualityPeriod(c)
	if err != nil {
		r.fail(c, err)
		return
	}
	f := tickets.QualityFilter{AgentID: c.Query("agent"), GroupID: c.Query("group"), From: from, To: to}
	if v := c.Query("flagged"); v != "" {
		if f.FlaggedOnly, err = strconv.ParseBool(v); err != nil {
			r.fail(c, fmt.Errorf("%w: flagged %q: true or false", errBadRequest, v))
			return
		}
	}
	if v := c.Query("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			r.fail(c, fmt.Errorf("%w: limit %q: a number from 1 to 500", errBadRequest, v))
			return
		}
	}
	list, err := r.tickets.QualityConversations(c.Request.Context(), f)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"conversations": nonNil(list)})
}

// qualityAgents serves each agent's quality over the period (?from=, ?to=, ?tz= as the
// report takes them): mean score, flagged conversations, the reasons' breakdown and the
// day-by-day trend.
func (r *adminRoutes) qualityAgents(c *gin.Context) {
	from, to, loc, err := qualityPeriod(c)
	if err != nil {
		r.fail(c, err)
		return
	}
	agents, err := r.tickets.AgentQualityTrends(c.Request.Context(), tickets.QualityTrendQuery{From: from, To: to, Location: loc})
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"agents": nonNil(agents)})
}

// qualityReview serves one inspected conversation: its score, reasons, replies'
// inspections and messages. An agent sees only the conversations scored as theirs.
func (r *ticketRoutes) qualityReview(c *gin.Context) {
	rev, err := r.tickets.QualityReviewOf(c.Request.Context(), actorOf(c), c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rev)
}

// myQuality serves the signed-in agent's own scores over the period (?from=, ?to=, ?tz=).
func (r *ticketRoutes) myQuality(c *gin.Context) {
	from, to, loc, err := qualityPeriod(c)
	if err != nil {
		r.fail(c, err)
		return
	}
	mine, err := r.tickets.QualityOfAgent(c.Request.Context(), actorOf(c).ID, tickets.QualityTrendQuery{From: from, To: to, Location: loc})
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, mine)
}

// QualityRulesEditor reads and saves the quality inspection's rule set (YAML in
// quality.rules_file's format); a save that does not parse is tickets.ErrInvalid.
type QualityRulesEditor interface {
	QualityRules(ctx context.Context) (tickets.QualityRules, error)
	SetQualityRules(ctx context.Context, actor tickets.Actor, yaml string) (tickets.QualityRules, error)
}

// qualityRules serves the rules in force, where they come from, and the built-in ones.
func (r *adminRoutes) qualityRules(c *gin.Context) {
	if r.rules == nil {
		r.fail(c, tickets.ErrUnavailable)
		return
	}
	doc, err := r.rules.QualityRules(c.Request.Context())
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, doc)
}

// putQualityRules saves a rule set ({"yaml": "…"}) in place of quality.rules_file's;
// one that does not parse is a 400 with the reason (the line, the unknown key, …).
func (r *adminRoutes) putQualityRules(c *gin.Context) {
	if r.rules == nil {
		r.fail(c, tickets.ErrUnavailable)
		return
	}
	var in struct {
		YAML *string `json:"yaml"`
	}
	if err := c.ShouldBindJSON(&in); err != nil || in.YAML == nil {
		r.fail(c, fmt.Errorf("%w: a JSON body {\"yaml\": \"…\"}", errBadRequest))
		return
	}
	doc, err := r.rules.SetQualityRules(c.Request.Context(), actorOf(c), *in.YAML)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, doc)
}

// qualityPeriod reads ?from=, ?to= and ?tz= as the report does; default the last 7 days.
func qualityPeriod(c *gin.Context) (from, to time.Time, loc *time.Location, err error) {
	loc = time.UTC
	if tz := c.Query("tz"); tz != "" {
		// "Local" is the server's zone, which PostgreSQL does not know by that name
		if loc, err = time.LoadLocation(tz); err != nil || tz == "Local" {
			return from, to, nil, fmt.Errorf("%w: tz %q: an IANA time zone such as Asia/Shanghai", errBadRequest, tz)
		}
	}
	if to, err = reportTime(c.Query("to"), loc, time.Now()); err != nil {
		return from, to, nil, err
	}
	if from, err = reportTime(c.Query("from"), loc, to.Add(-7*24*time.Hour)); err != nil {
		return from, to, nil, err
	}
	if !to.After(from) {
		return from, to, nil, fmt.Errorf("%w: from %s is not before to %s", errBadRequest, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, loc, nil
}
