package tickets

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Resolution is how an agent answered a customer on a ticket that was resolved: the
// customer's words before the first reply (their last three messages up to it) and the
// agent's last reply before the ticket was resolved. Text is redacted. Reply assist finds
// the past resolutions of questions like the one an agent is answering.
type Resolution struct {
	TicketID   string    `json:"ticket_id"`
	Subject    string    `json:"subject"`
	Question   string    `json:"question"`
	Answer     string    `json:"answer"`
	AgentID    string    `json:"agent_id"`
	ResolvedAt time.Time `json:"resolved_at"`
	Rating     int       `json:"rating,omitempty"` // the customer's CSAT (0: not rated)
}

// pastResolutionsQuery reads the latest resolutions, newest first (served by the partial
// index tickets_resolved_idx; each ticket's messages by messages_conversation_idx).
const pastResolutionsQuery = `SELECT t.id, t.subject, t.resolved_at, q.question, a.body, a.author, coalesce(r.rating, 0)
		FROM tickets t
		CROSS JOIN LATERAL (SELECT m.body, m.author FROM messages m WHERE m.conversation_id = t.conversation_id
			AND m.author LIKE 'agent:%' AND m.created_at <= t.resolved_at ORDER BY m.created_at DESC, m.id DESC LIMIT 1) a
		CROSS JOIN LATERAL (SELECT string_agg(c.body, E'\n' ORDER BY c.created_at, c.id) AS question FROM (
			SELECT m.body, m.created_at, m.id FROM messages m WHERE m.conversation_id = t.conversation_id AND m.author = 'customer'
				AND m.created_at <= coalesce(t.first_response_at, t.resolved_at)
			ORDER BY m.created_at DESC, m.id DESC LIMIT 3) c) q
		LEFT JOIN csat_ratings r ON r.ticket_id = t.id
		WHERE t.status IN ('resolved', 'closed') AND t.resolved_at IS NOT NULL AND q.question IS NOT NULL
			AND coalesce(r.rating, 3) > 2
		ORDER BY t.resolved_at DESC LIMIT $1`

// PastResolutions returns up to limit of the most recently resolved tickets that an agent
// answered, newest first, leaving out those the customer rated 1 or 2: an answer that did
// not help is no model for the next one.
func (s *TicketRecords) PastResolutions(ctx context.Context, limit int) ([]Resolution, error) {
	rows, err := s.reads.Query(ctx, pastResolutionsQuery, limit)
	if err != nil {
		return nil, mapPgErr(err, "past resolutions")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Resolution, error) {
		var x Resolution
		var author string
		if err := r.Scan(&x.TicketID, &x.Subject, &x.ResolvedAt, &x.Question, &x.Answer, &author, &x.Rating); err != nil {
			return x, err
		}
		x.AgentID = strings.TrimPrefix(author, "agent:")
		return x, nil
	})
	return out, mapPgErr(err, "past resolutions")
}
