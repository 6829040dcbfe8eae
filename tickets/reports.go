package tickets

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reports for supervisors, over a period [From, To):
//
//   - conversations started, those escalated (with a ticket) and the bot's deflection
//     rate, the share resolved without a human;
//   - of the tickets opened, first-response and resolution times (from the ticket's
//     opening; mean, median, 90th percentile, in seconds) and SLA attainment — of the
//     tickets whose first response (resolution) is decided, answered (resolved) in time
//     or late: the share in time;
//   - CSAT over the ratings given in the period: count, mean, the 1–5 distribution and
//     the share of 4s and 5s;
//   - conversations by channel and by hour of the day (in the report's time zone);
//   - the same ticket figures by agent (the ticket's assignee) and by skill group, with
//     each agent's ratings.

// ReportQuery selects a report's period and time zone.
type ReportQuery struct {
	From, To time.Time
	Location *time.Location // hours of the day are counted in it (nil: UTC)
}

// Durations summarizes durations in seconds.
type Durations struct {
	Count  int     `json:"count"`
	Mean   float64 `json:"mean_seconds"`
	Median float64 `json:"median_seconds"`
	P90    float64 `json:"p90_seconds"`
}

// Attainment is how many of the decided tickets met a target.
type Attainment struct {
	Met     int     `json:"met"`
	Decided int     `json:"decided"`
	Share   float64 `json:"share"` // Met / Decided (0 when none is decided)
}

// CSATSummary summarizes ratings.
type CSATSummary struct {
	Count        int     `json:"count"`
	Mean         float64 `json:"mean"`
	Distribution [5]int  `json:"distribution"` // ratings 1 to 5
	Satisfied    float64 `json:"satisfied_share"`
}

// TicketFigures are the ticket figures of a report, of a whole team or one agent or group.
type TicketFigures struct {
	Opened        int        `json:"opened"`
	Resolved      int        `json:"resolved"`
	FirstResponse Durations  `json:"first_response"`
	Resolution    Durations  `json:"resolution"`
	SLAFirst      Attainment `json:"sla_first_response"`
	SLAResolution Attainment `json:"sla_resolution"`
}

// ChannelVolume counts a channel's conversations.
type ChannelVolume struct {
	Channel       string `json:"channel"`
	Conversations int    `json:"conversations"`
	Escalated     int    `json:"escalated"`
}

// AgentFigures are one agent's (or group's) figures.
type AgentFigures struct {
	ID string `json:"id"`
	TicketFigures
	CSAT CSATSummary `json:"csat"`
}

// Report is what Report returns.
type Report struct {
	From           time.Time       `json:"from"`
	To             time.Time       `json:"to"`
	TimeZone       string          `json:"time_zone"`
	Conversations  int             `json:"conversations"`
	Escalated      int             `json:"escalated"`
	DeflectionRate float64         `json:"deflection_rate"`
	Tickets        TicketFigures   `json:"tickets"`
	CSAT           CSATSummary     `json:"csat"`
	ByChannel      []ChannelVolume `json:"by_channel"`
	ByHour         [24]int         `json:"by_hour"`
	ByAgent        []AgentFigures  `json:"by_agent"`
	ByGroup        []AgentFigures  `json:"by_group"`
}

// MaxReportPeriod bounds a report's period.
const MaxReportPeriod = 400 * 24 * time.Hour

// Report computes the report of q's period from the read replica.
func (s *TicketRecords) Report(ctx context.Context, q ReportQuery) (Report, error) {
	if q.Location == nil {
		q.Location = time.UTC
	}
	if !q.From.Before(q.To) || q.To.Sub(q.From) > MaxReportPeriod {
		return Report{}, fmt.Errorf("report period %s to %s: from before to, at most %d days: %w",
			q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), int(MaxReportPeriod.Hours()/24), ErrInvalid)
	}
	r := Report{From: q.From, To: q.To, TimeZone: q.Location.String(), ByChannel: []ChannelVolume{}, ByAgent: []AgentFigures{}, ByGroup: []AgentFigures{}}
	db := s.replica
	// conversations: by channel (with escalations) and by local hour
	rows, err := db.Query(ctx, `SELECT c.channel, count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id))
		FROM conversations c WHERE c.created_at >= $1 AND c.created_at < $2 GROUP BY c.channel ORDER BY c.channel`, q.From, q.To)
	if err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	if r.ByChannel, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ChannelVolume, error) {
		var v ChannelVolume
		err := row.Scan(&v.Channel, &v.Conversations, &v.Escalated)
		return v, err
	}); err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	for _, v := range r.ByChannel {
		r.Conversations += v.Conversations
		r.Escalated += v.Escalated
	}
	if r.Conversations > 0 {
		r.DeflectionRate = 1 - float64(r.Escalated)/float64(r.Conversations)
	}
	var hour, n int
	rows, err = db.Query(ctx, `SELECT extract(hour FROM c.created_at AT TIME ZONE $3)::int, count(*) FROM conversations c
		WHERE c.created_at >= $1 AND c.created_at < $2 GROUP BY 1`, q.From, q.To, q.Location.String())
	if err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	if _, err = pgx.ForEachRow(rows, []any{&hour, &n}, func() error { r.ByHour[hour] = n; return nil }); err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	// tickets: the whole team, by agent and by group
	figures := func(by string) ([]AgentFigures, error) {
		rows, err := db.Query(ctx, `SELECT `+by+`, count(*), count(resolved_at),
				count(first_response_at), coalesce(avg(extract(epoch FROM first_response_at - created_at)), 0),
				coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)), 0),
				coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)), 0),
				count(resolved_at), coalesce(avg(extract(epoch FROM resolved_at - created_at)), 0),
				coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)), 0),
				coalesce(percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)), 0),
				count(*) FILTER (WHERE first_response_at IS NOT NULL AND first_response_breached_at IS NULL),
				count(*) FILTER (WHERE first_response_at IS NOT NULL OR first_response_breached_at IS NOT NULL),
				count(*) FILTER (WHERE resolved_at IS NOT NULL AND resolution_breached_at IS NULL),
				count(*) FILTER (WHERE resolved_at IS NOT NULL OR resolution_breached_at IS NOT NULL)
			FROM tickets WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 1`, q.From, q.To)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(row pgx.CollectableRow) (AgentFigures, error) {
			var a AgentFigures
			f := &a.TicketFigures
			err := row.Scan(&a.ID, &f.Opened, &f.Resolved,
				&f.FirstResponse.Count, &f.FirstResponse.Mean, &f.FirstResponse.Median, &f.FirstResponse.P90,
				&f.Resolution.Count, &f.Resolution.Mean, &f.Resolution.Median, &f.Resolution.P90,
				&f.SLAFirst.Met, &f.SLAFirst.Decided, &f.SLAResolution.Met, &f.SLAResolution.Decided)
			f.SLAFirst.Share, f.SLAResolution.Share = share(f.SLAFirst), share(f.SLAResolution)
			return a, err
		})
	}
	team, err := figures(`''`)
	if err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	if len(team) == 1 {
		r.Tickets = team[0].TicketFigures
	}
	if r.ByAgent, err = figures(`coalesce(assignee, '')`); err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	if r.ByGroup, err = figures(`coalesce(group_id, '')`); err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	// ratings given in the period, by the agent who resolved the ticket
	byAgent := map[string]*CSATSummary{}
	var agent string
	var rating int
	rows, err = db.Query(ctx, `SELECT agent_id, rating FROM csat_ratings WHERE rated_at >= $1 AND rated_at < $2`, q.From, q.To)
	if err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	if _, err = pgx.ForEachRow(rows, []any{&agent, &rating}, func() error {
		r.CSAT.add(rating)
		if byAgent[agent] == nil {
			byAgent[agent] = &CSATSummary{}
		}
		byAgent[agent].add(rating)
		return nil
	}); err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	r.CSAT.finish()
	for i := range r.ByAgent {
		if c := byAgent[r.ByAgent[i].ID]; c != nil {
			c.finish()
			r.ByAgent[i].CSAT = *c
		}
	}
	return r, nil
}

func share(a Attainment) float64 {
	if a.Decided == 0 {
		return 0
	}
	return float64(a.Met) / float64(a.Decided)
}

func (c *CSATSummary) add(rating int) {
	if rating < 1 || rating > 5 {
		return
	}
	c.Distribution[rating-1]++
	c.Count++
}

// finish computes the mean and the share of 4s and 5s from the distribution.
func (c *CSATSummary) finish() {
	if c.Count == 0 {
		return
	}
	sum := 0
	for i, n := range c.Distribution {
		sum += (i + 1) * n
	}
	c.Mean = float64(sum) / float64(c.Count)
	c.Satisfied = float64(c.Distribution[3]+c.Distribution[4]) / float64(c.Count)
}
