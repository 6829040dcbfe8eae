package tickets

import (
	"context"
	"encoding/json"
)

// ReplyInspector scores an agent's reply for quality inspection (智能质检) under the
// rules of the ticket's skill group; pos is where the reply sits: the first of the
// ticket (a greeting is expected of it), a later one, or the last when the ticket is
// resolved (a closing is expected of it). serve adapts nlp/quality to it.
type ReplyInspector interface {
	InspectReply(ctx context.Context, group, text string, pos ReplyPosition) (ReplyQuality, error)
}

// ReplyPosition is where a reply sits among the agent's replies of a ticket.
type ReplyPosition string

// The positions of a reply.
const (
	PositionFirst  ReplyPosition = "first"
	PositionMiddle ReplyPosition = "middle"
	PositionLast   ReplyPosition = "last"
)

// ReplyQuality is a reply's score (0–100) and what the rules found in it.
type ReplyQuality struct {
	Score    int              `json:"score"`
	Findings []QualityFinding `json:"findings"`
}

// QualityFinding is one check that fired: the check, the rule's cue that matched, and
// for personal data typed out its kind (EMAIL, PHONE, …) — never the data itself.
type QualityFinding struct {
	Check string `json:"check"`
	Cue   string `json:"cue,omitempty"`
	Kind  string `json:"kind,omitempty"`
}

// StoredReplyQuality is a reply's stored inspection.
type StoredReplyQuality struct {
	MessageID int64  `json:"message_id"`
	TicketID  string `json:"ticket_id"`
	AgentID   string `json:"agent_id"`
	GroupID   string `json:"group_id"`
	Position  string `json:"position"`
	ReplyQuality
}

// inspectReply scores an agent's reply once it committed and stores the result; the
// reply stands whatever happens here (an inspection that fails is logged and counted).
func (s *Service) inspectReply(ctx context.Context, t Ticket, msgID int64, agent, text string, first bool) {
	if s.Inspector == nil {
		return
	}
	q, err := s.Inspector.InspectReply(ctx, t.GroupID, text, positionOf(first))
	if err == nil {
		err = s.store.recordReplyQuality(ctx, StoredReplyQuality{MessageID: msgID, TicketID: t.ID, AgentID: agent,
			GroupID: t.GroupID, Position: string(positionOf(first)), ReplyQuality: q})
	}
	if err != nil {
		if s.Metrics != nil {
			s.Metrics.QualityFailures.Inc()
		}
		if s.Log != nil {
			s.Log.Warn("quality inspection of a reply failed; the reply was sent", "ticket", t.ID, "message", msgID, "err", err)
		}
		return
	}
	if s.Metrics != nil {
		s.Metrics.QualityScore.WithLabelValues(t.GroupID).Observe(float64(q.Score))
		for _, f := range q.Findings {
			s.Metrics.QualityFindings.WithLabelValues(f.Check, t.GroupID).Inc()
		}
	}
}

func positionOf(first bool) ReplyPosition {
	if first {
		return PositionFirst
	}
	return PositionMiddle
}

func (s *TicketRecords) recordReplyQuality(ctx context.Context, q StoredReplyQuality) error {
	findings, err := json.Marshal(q.Findings)
	if err != nil {
		return err
	}
	if q.Findings == nil {
		findings = []byte("[]")
	}
	_, err = s.primary.Exec(ctx, `INSERT INTO reply_quality (message_id, ticket_id, agent_id, group_id, position, score, findings)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO NOTHING`,
		q.MessageID, q.TicketID, q.AgentID, q.GroupID, q.Position, q.Score, findings)
	return mapPgErr(err, "reply quality")
}

// ReplyQualities lists the stored inspections of a ticket's replies, oldest first.
func (s *TicketRecords) ReplyQualities(ctx context.Context, ticketID string) ([]StoredReplyQuality, error) {
	rows, err := s.primary.Query(ctx, `SELECT message_id, ticket_id, agent_id, group_id, position, score, findings
		FROM reply_quality WHERE ticket_id = $1 ORDER BY message_id`, ticketID)
	if err != nil {
		return nil, mapPgErr(err, "reply quality")
	}
	defer rows.Close()
	var out []StoredReplyQuality
	for rows.Next() {
		var q StoredReplyQuality
		var findings []byte
		if err := rows.Scan(&q.MessageID, &q.TicketID, &q.AgentID, &q.GroupID, &q.Position, &q.Score, &findings); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(findings, &q.Findings); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, mapPgErr(rows.Err(), "reply quality")
}
