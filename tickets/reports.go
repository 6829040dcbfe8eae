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
//     each agent's ratings;
//   - day by day (calendar days in the report's time zone, every day of the period, empty
//     ones too): conversations, escalations and deflection, the ticket figures of the
//     tickets opened that day and the ratings given that day.

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

// DayFigures are one day's figures: its conversations, the tickets opened on it and the
// ratings given on it.
type DayFigures struct {
	Date           string  `json:"date"` // 2026-03-02, in the report's time zone
	Conversations  int     `json:"conversations"`
	Escalated      int     `json:"escalated"`
	DeflectionRate float64 `json:"deflection_rate"`
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
	ByDay          []DayFigures    `json:"by_day"`
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
	r := Report{From: q.From, To: q.To, TimeZone: q.Location.String(),
		ByChannel: []ChannelVolume{}, ByAgent: []AgentFigures{}, ByGroup: []AgentFigures{}, ByDay: []DayFigures{}}
	db := s.reads
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
	r.DeflectionRate = deflection(r.Conversations, r.Escalated)
	// the days of the period, in its time zone
	tz := q.Location.String()
	day := map[string]*DayFigures{}
	first := q.From.In(q.Location)
	last := q.To.Add(-time.Nanosecond).In(q.Location)
	for d := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, q.Location); !d.After(last); d = d.AddDate(0, 0, 1) {
		r.ByDay = append(r.ByDay, DayFigures{Date: d.Format(time.DateOnly)})
	}
	for i := range r.ByDay {
		day[r.ByDay[i].Date] = &r.ByDay[i]
	}
	// localDay is a timestamp's calendar day in the report's time zone ($3)
	const localDay = `to_char((%s AT TIME ZONE $3)::date, 'YYYY-MM-DD')`
	var date string
	var n, escalated int
	rows, err = db.Query(ctx, `SELECT `+fmt.Sprintf(localDay, "c.created_at")+`, count(*),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM tickets t WHERE t.conversation_id = c.id))
		FROM conversations c WHERE c.created_at >= $1 AND c.created_at < $2 GROUP BY 1`, q.From, q.To, tz)
	if err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	if _, err = pgx.ForEachRow(rows, []any{&date, &n, &escalated}, func() error {
		if d := day[date]; d != nil {
			d.Conversations, d.Escalated, d.DeflectionRate = n, escalated, deflection(n, escalated)
		}
		return nil
	}); err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	var hour int
	rows, err = db.Query(ctx, `SELECT extract(hour FROM c.created_at AT TIME ZONE $3)::int, count(*) FROM conversations c
		WHERE c.created_at >= $1 AND c.created_at < $2 GROUP BY 1`, q.From, q.To, tz)
	if err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	if _, err = pgx.ForEachRow(rows, []any{&hour, &n}, func() error { r.ByHour[hour] = n; return nil }); err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	// tickets: the whole team, by agent, by group and by day
	figures := func(by string, args ...any) ([]AgentFigures, error) {
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
			FROM tickets WHERE created_at >= $1 AND created_at < $2 GROUP BY 1 ORDER BY 1`, append([]any{q.From, q.To}, args...)...)
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
	days, err := figures(fmt.Sprintf(localDay, "created_at"), tz)
	if err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	for _, f := range days {
		if d := day[f.ID]; d != nil {
			d.TicketFigures = f.TicketFigures
		}
	}
	// ratings given in the period, by the agent who resolved the ticket and by the day
	byAgent := map[string]*CSATSummary{}
	var agent string
	var rating int
	rows, err = db.Query(ctx, `SELECT agent_id, rating, `+fmt.Sprintf(localDay, "rated_at")+` FROM csat_ratings
		WHERE rated_at >= $1 AND rated_at < $2`, q.From, q.To, tz)
	if err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	if _, err = pgx.ForEachRow(rows, []any{&agent, &rating, &date}, func() error {
		r.CSAT.add(rating)
		if byAgent[agent] == nil {
			byAgent[agent] = &CSATSummary{}
		}
		byAgent[agent].add(rating)
		if d := day[date]; d != nil {
			d.CSAT.add(rating)
		}
		return nil
	}); err != nil {
		return Report{}, mapPgErr(err, "report")
	}
	r.CSAT.finish()
	for i := range r.ByDay {
		r.ByDay[i].CSAT.finish()
	}
	for i := range r.ByAgent {
		if c := byAgent[r.ByAgent[i].ID]; c != nil {
			c.finish()
			r.ByAgent[i].CSAT = *c
		}
	}
	return r, nil
}

// deflection is the share of conversations that no ticket followed (0 of none).
func deflection(conversations, escalated int) float64 {
	if conversations == 0 {
		return 0
	}
	return 1 - float64(escalated)/float64(conversations)
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
