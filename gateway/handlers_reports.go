package gateway

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

// report serves the supervisors' report (tickets.Report): ?from= and ?to= (RFC 3339 or
// a date, 2026-03-01; default the last 7 days), ?tz= (an IANA zone for the hours of
// the day; default UTC), ?format=csv for a spreadsheet of the team, agents, groups and days.
func (r *adminRoutes) report(c *gin.Context) {
	if r.reports == nil {
		r.fail(c, tickets.ErrUnavailable)
		return
	}
	loc := time.UTC
	if tz := c.Query("tz"); tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" { // the server's zone, unknown to PostgreSQL by that name
			r.fail(c, fmt.Errorf("%w: tz %q: an IANA time zone such as Asia/Shanghai", errBadRequest, tz))
			return
		}
		loc = l
	}
	to, err := reportTime(c.Query("to"), loc, time.Now())
	if err != nil {
		r.fail(c, err)
		return
	}
	from, err := reportTime(c.Query("from"), loc, to.Add(-7*24*time.Hour))
	if err != nil {
		r.fail(c, err)
		return
	}
	rep, err := r.reports.Report(c.Request.Context(), tickets.ReportQuery{From: from, To: to, Location: loc})
	if err != nil {
		r.fail(c, err)
		return
	}
	switch c.Query("format") {
	case "", "json":
		c.JSON(http.StatusOK, rep)
	case "csv":
		c.Header("Content-Disposition", `attachment; filename="switchboard-report.csv"`)
		c.Header("Content-Type", "text/csv; charset=utf-8")
		writeReportCSV(c.Writer, rep)
	default:
		r.fail(c, fmt.Errorf("%w: format %q: json or csv", errBadRequest, c.Query("format")))
	}
}

// reportTime reads a report bound: RFC 3339, or a date at midnight in loc; def when empty.
func reportTime(v string, loc *time.Location, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%w: %q: RFC 3339 (2026-03-01T00:00:00Z) or a date (2026-03-01)", errBadRequest, v)
}

// writeReportCSV writes one row for the team, then one per agent, per group and per day
// (its date in the id column).
func writeReportCSV(w http.ResponseWriter, rep tickets.Report) {
	cw := csv.NewWriter(w)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	_ = cw.Write([]string{"scope", "id", "opened", "resolved", "first_response_mean_s", "first_response_median_s", "first_response_p90_s",
		"resolution_mean_s", "resolution_median_s", "resolution_p90_s", "sla_first_response", "sla_resolution",
		"csat_count", "csat_mean", "conversations", "deflection_rate"})
	row := func(scope, id string, t tickets.TicketFigures, cs tickets.CSATSummary, extra ...string) {
		_ = cw.Write(append([]string{scope, id, strconv.Itoa(t.Opened), strconv.Itoa(t.Resolved),
			f(t.FirstResponse.Mean), f(t.FirstResponse.Median), f(t.FirstResponse.P90),
			f(t.Resolution.Mean), f(t.Resolution.Median), f(t.Resolution.P90),
			f(t.SLAFirst.Share), f(t.SLAResolution.Share), strconv.Itoa(cs.Count), f(cs.Mean)}, extra...))
	}
	row("team", "", rep.Tickets, rep.CSAT, strconv.Itoa(rep.Conversations), f(rep.DeflectionRate))
	for _, a := range rep.ByAgent {
		row("agent", a.ID, a.TicketFigures, a.CSAT, "", "")
	}
	for _, g := range rep.ByGroup {
		row("group", g.ID, g.TicketFigures, g.CSAT, "", "")
	}
	for _, d := range rep.ByDay {
		row("day", d.Date, d.TicketFigures, d.CSAT, strconv.Itoa(d.Conversations), f(d.DeflectionRate))
	}
	cw.Flush()
}
