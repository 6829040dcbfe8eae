package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// QualityFilter selects inspected conversations for the supervisors' QA view.
type QualityFilter struct {
	FlaggedOnly bool
	AgentID     string
	GroupID     string
	From, To    time.Time // resolved in [From, To); zero: unbounded
	Limit       int       // default 50, at most 500
}

// QualityConversations lists inspected conversations, the most recently resolved first.
func (s *TicketRecords) QualityConversations(ctx context.Context, f QualityFilter) ([]ConversationQuality, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	if f.Limit > 500 {
		return nil, fmt.Errorf("limit %d: at most 500: %w", f.Limit, ErrInvalid)
	}
	args := []any{f.FlaggedOnly, f.AgentID, f.GroupID, nullTime(f.From), nullTime(f.To), f.Limit}
	rows, err := s.primary.Query(ctx, `SELECT `+conversationQualityCols+` FROM conversation_quality
		WHERE (NOT $1 OR flagged) AND ($2 = '' OR agent_id = $2) AND ($3 = '' OR group_id = $3)
		  AND ($4::timestamptz IS NULL OR resolved_at >= $4) AND ($5::timestamptz IS NULL OR resolved_at < $5)
		ORDER BY resolved_at DESC, ticket_id LIMIT $6`, args...)
	if err != nil {
		return nil, mapPgErr(err, "conversation quality")
	}
	out, err := pgx.CollectRows(rows, scanConversationQuality)
	return out, mapPgErr(err, "conversation quality")
}

// ConversationQualityOf returns a ticket's inspection (ErrNotFound before it is resolved).
func (s *TicketRecords) ConversationQualityOf(ctx context.Context, ticketID string) (ConversationQuality, error) {
	rows, err := s.primary.Query(ctx, `SELECT `+conversationQualityCols+` FROM conversation_quality WHERE ticket_id = $1`, ticketID)
	if err != nil {
		return ConversationQuality{}, mapPgErr(err, "conversation quality")
	}
	q, err := pgx.CollectExactlyOneRow(rows, scanConversationQuality)
	return q, mapPgErr(err, "conversation quality")
}

func scanConversationQuality(row pgx.CollectableRow) (ConversationQuality, error) {
	var q ConversationQuality
	var reasons []byte
	var start, end *float32
	err := row.Scan(&q.TicketID, &q.AgentID, &q.GroupID, &q.Score, &q.ReplyScore, &q.Replies, &q.FirstResponseSeconds,
		&q.FirstResponseTargetSeconds, &q.ReplyTargetSeconds, &q.SlowReplies, &q.Closing, &start, &end,
		&q.Flagged, &reasons, &q.ResolvedAt)
	if err != nil {
		return q, err
	}
	q.SentimentStart, q.SentimentEnd = widen(start), widen(end)
	if err := json.Unmarshal(reasons, &q.Reasons); err != nil {
		return q, err
	}
	return q, nil
}

func widen(f *float32) *float64 {
	if f == nil {
		return nil
	}
	v := math.Round(float64(*f)*1000) / 1000
	return &v
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// AgentQuality is one agent's inspected conversations over a period: the mean score,
// how many were flagged, how often each reason came up (the score's breakdown), and
// the day-by-day trend.
type AgentQuality struct {
	AgentID       string         `json:"agent_id"`
	Conversations int            `json:"conversations"`
	MeanScore     float64        `json:"mean_score"`
	MeanReplies   float64        `json:"mean_reply_score"`
	Flagged       int            `json:"flagged"`
	Reasons       map[string]int `json:"reasons"`
	Days          []QualityDay   `json:"days"`
}

// QualityDay is an agent's inspected conversations resolved on one day.
type QualityDay struct {
	Day           string  `json:"day"` // 2026-03-01, in the query's time zone
	Conversations int     `json:"conversations"`
	MeanScore     float64 `json:"mean_score"`
	Flagged       int     `json:"flagged"`
}

// QualityTrendQuery selects the period (resolved in [From, To)), the time zone of its
// days and, when set, one agent.
type QualityTrendQuery struct {
	From, To time.Time
	Location *time.Location
	AgentID  string
}

// AgentQualityTrends returns each agent's quality over the period, agents by id.
func (s *TicketRecords) AgentQualityTrends(ctx context.Context, q QualityTrendQuery) ([]AgentQuality, error) {
	if !q.To.After(q.From) {
		return nil, fmt.Errorf("period %s to %s is empty: %w", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), ErrInvalid)
	}
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	rows, err := s.primary.Query(ctx, `SELECT agent_id, to_char(resolved_at AT TIME ZONE $4, 'YYYY-MM-DD'),
			count(*), avg(score), avg(reply_score), count(*) FILTER (WHERE flagged)
		FROM conversation_quality
		WHERE resolved_at >= $1 AND resolved_at < $2 AND ($3 = '' OR agent_id = $3)
		GROUP BY 1, 2 ORDER BY 1, 2`, q.From, q.To, q.AgentID, loc.String())
	if err != nil {
		return nil, mapPgErr(err, "quality trends")
	}
	byAgent := map[string]*AgentQuality{}
	var order []string
	type sums struct{ score, replies float64 }
	totals := map[string]*sums{}
	for rows.Next() {
		var agent, day string
		var n, flagged int
		var mean, replies float64
		if err := rows.Scan(&agent, &day, &n, &mean, &replies, &flagged); err != nil {
			rows.Close()
			return nil, mapPgErr(err, "quality trends")
		}
		a, ok := byAgent[agent]
		if !ok {
			a = &AgentQuality{AgentID: agent, Reasons: map[string]int{}, Days: []QualityDay{}}
			byAgent[agent], totals[agent] = a, &sums{}
			order = append(order, agent)
		}
		a.Conversations += n
		a.Flagged += flagged
		totals[agent].score += mean * float64(n)
		totals[agent].replies += replies * float64(n)
		a.Days = append(a.Days, QualityDay{Day: day, Conversations: n, MeanScore: round1(mean), Flagged: flagged})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapPgErr(err, "quality trends")
	}
	// The breakdown: how many of the agent's conversations each reason cost points.
	rows, err = s.primary.Query(ctx, `SELECT agent_id, r->>'check', count(DISTINCT ticket_id)
		FROM conversation_quality, jsonb_array_elements(reasons) AS r
		WHERE resolved_at >= $1 AND resolved_at < $2 AND ($3 = '' OR agent_id = $3)
		GROUP BY 1, 2`, q.From, q.To, q.AgentID)
	if err != nil {
		return nil, mapPgErr(err, "quality trends")
	}
	for rows.Next() {
		var agent, check string
		var n int
		if err := rows.Scan(&agent, &check, &n); err != nil {
			rows.Close()
			return nil, mapPgErr(err, "quality trends")
		}
		if a, ok := byAgent[agent]; ok {
			a.Reasons[check] = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapPgErr(err, "quality trends")
	}
	sort.Strings(order)
	out := make([]AgentQuality, 0, len(order))
	for _, id := range order {
		a := byAgent[id]
		a.MeanScore = round1(totals[id].score / float64(a.Conversations))
		a.MeanReplies = round1(totals[id].replies / float64(a.Conversations))
		out = append(out, *a)
	}
	return out, nil
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// QualityReview is one inspected conversation as the QA view shows it: the score and
// its reasons, each reply's inspection, and the ticket's messages (redacted, as staff
// see them) for the reasons to be highlighted in.
type QualityReview struct {
	Quality  ConversationQuality  `json:"quality"`
	Replies  []StoredReplyQuality `json:"replies"`
	Messages []Message            `json:"messages"`
}

// QualityReviewOf returns a resolved ticket's inspection. A supervisor sees any; an
// agent the conversations scored as theirs and those they replied in.
func (s *Service) QualityReviewOf(ctx context.Context, actor Actor, ticketID string) (QualityReview, error) {
	t, err := s.GetTicket(ctx, ticketID)
	if err != nil {
		return QualityReview{}, err
	}
	q, err := s.store.ConversationQualityOf(ctx, t.ID)
	if err != nil {
		return QualityReview{}, err
	}
	replies, err := s.store.ReplyQualities(ctx, t.ID)
	if err != nil {
		return QualityReview{}, err
	}
	wrote := slices.ContainsFunc(replies, func(r StoredReplyQuality) bool { return r.AgentID == actor.ID })
	if !actor.Supervisor && q.AgentID != actor.ID && !wrote {
		return QualityReview{}, fmt.Errorf("ticket %s was scored for another agent: %w", ticketID, ErrForbidden)
	}
	msgs, err := s.store.ListMessages(ctx, t.ConversationID)
	if err != nil {
		return QualityReview{}, err
	}
	in := conversationInput{ticket: t, messages: msgs}
	if replies == nil {
		replies = []StoredReplyQuality{}
	}
	return QualityReview{Quality: q, Replies: replies, Messages: append([]Message{}, in.ticketMessages()...)}, nil
}

// MyQuality is an agent's own quality page: their trend over the period and their
// latest inspected conversations.
type MyQuality struct {
	Trend         AgentQuality          `json:"trend"`
	Conversations []ConversationQuality `json:"conversations"`
}

// QualityOfAgent returns an agent's own scores over the period.
func (s *Service) QualityOfAgent(ctx context.Context, agentID string, q QualityTrendQuery) (MyQuality, error) {
	q.AgentID = agentID
	trends, err := s.store.AgentQualityTrends(ctx, q)
	if err != nil {
		return MyQuality{}, err
	}
	out := MyQuality{Trend: AgentQuality{AgentID: agentID, Reasons: map[string]int{}, Days: []QualityDay{}}}
	if len(trends) == 1 {
		out.Trend = trends[0]
	}
	out.Conversations, err = s.store.QualityConversations(ctx, QualityFilter{AgentID: agentID, From: q.From, To: q.To, Limit: 20})
	if out.Conversations == nil {
		out.Conversations = []ConversationQuality{}
	}
	return out, err
}

// QualityConversations lists inspected conversations for the supervisors' QA view.
func (s *Service) QualityConversations(ctx context.Context, f QualityFilter) ([]ConversationQuality, error) {
	return s.store.QualityConversations(ctx, f)
}

// AgentQualityTrends returns each agent's quality over a period, for supervisors.
func (s *Service) AgentQualityTrends(ctx context.Context, q QualityTrendQuery) ([]AgentQuality, error) {
	return s.store.AgentQualityTrends(ctx, q)
}
