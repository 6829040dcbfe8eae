package webhooks

import (
	"encoding/json"
	"strconv"
	"time"
)

// Event is the body of every webhook request.
type Event struct {
	// ID is stable for the event (the same in every delivery and retry of it, to every
	// endpoint): "audit:<audit event id>", "csat:<ticket id>" or "qa:<message id>".
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	Data       EventData `json:"data"`
}

// EventData says what happened, by ids, statuses and scores only: a struct rather than
// a map, so that nothing a customer wrote (text, comments, names, e-mail addresses,
// phone numbers) can slip into a payload.
type EventData struct {
	TicketID string `json:"ticket_id"`
	// Status is the ticket's status after a ticket.* event.
	Status string `json:"status,omitempty"`
	// AgentID is the agent assigned (ticket.assigned), rated (csat.submitted) or scored
	// (qa.scored).
	AgentID string `json:"agent_id,omitempty"`
	// ActorID is who made the change: a staff member, "bot" or "router".
	ActorID  string `json:"actor_id,omitempty"`
	GroupID  string `json:"group_id,omitempty"`
	Priority string `json:"priority,omitempty"`
	// Reason is why a ticket was assigned: route, claim, pull, transfer, ….
	Reason string `json:"reason,omitempty"`
	// Rating is the customer's CSAT rating, 1 to 5 (the comment is not sent).
	Rating int `json:"rating,omitempty"`
	// MessageID, Position, Score and Findings are a reply's quality inspection; Score
	// and Flagged a resolved conversation's (qa.conversation_scored).
	Flagged   bool      `json:"flagged,omitempty"`
	MessageID int64     `json:"message_id,omitempty"`
	Position  string    `json:"position,omitempty"`
	Score     *int      `json:"score,omitempty"`
	Findings  []Finding `json:"findings,omitempty"`
}

// Finding is a quality check that fired on a reply, and for personal data typed out its
// kind (EMAIL, PHONE, …); never the data, nor the rule's cue.
type Finding struct {
	Check string `json:"check"`
	Kind  string `json:"kind,omitempty"`
}

// auditRow is the part of an audit event the dispatcher reads.
type auditRow struct {
	ID                    int64
	At                    time.Time
	Actor, Action, Target string
	Detail                []byte
}

// auditTypes maps audit actions to event types.
var auditTypes = map[string]string{
	"ticket.create":  TicketCreated,
	"ticket.assign":  TicketAssigned,
	"ticket.resolve": TicketResolved,
	"ticket.close":   TicketClosed,
	"ticket.quality": QAConversationScored,
}

// auditStatus is a ticket's status after each mapped action.
var auditStatus = map[string]string{
	TicketCreated:  "open",
	TicketAssigned: "assigned",
	TicketResolved: "resolved",
	TicketClosed:   "closed",
	// a conversation is scored when its ticket is resolved
	QAConversationScored: "resolved",
}

// fromAudit turns an audit event into a webhook event; ok is false for actions that
// are not sent. Only named, non-personal fields of the detail are read.
func fromAudit(r auditRow) (Event, bool) {
	typ, ok := auditTypes[r.Action]
	if !ok {
		return Event{}, false
	}
	var detail struct {
		Agent    string `json:"agent"`
		Reason   string `json:"reason"`
		Priority any    `json:"priority"`
		Group    string `json:"group"`
		Score    *int   `json:"score"`
		Flagged  bool   `json:"flagged"`
	}
	_ = json.Unmarshal(r.Detail, &detail) // a detail of another shape leaves the fields empty
	ev := Event{ID: "audit:" + strconv.FormatInt(r.ID, 10), Type: typ, OccurredAt: r.At.UTC(),
		Data: EventData{TicketID: r.Target, Status: auditStatus[typ], ActorID: r.Actor}}
	switch typ {
	case TicketCreated:
		ev.Data.Priority = scalar(detail.Priority)
	case TicketAssigned:
		ev.Data.AgentID, ev.Data.Reason = detail.Agent, detail.Reason
	case QAConversationScored:
		ev.Data.AgentID, ev.Data.GroupID, ev.Data.Score, ev.Data.Flagged = detail.Agent, detail.Group, detail.Score, detail.Flagged
	}
	return ev, true
}

// scalar renders a priority stored as a string or a number.
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// csatRow is a rated csat_ratings row.
type csatRow struct {
	TicketID, AgentID string
	Rating            int
	RatedAt           time.Time
}

func fromCSAT(r csatRow) Event {
	return Event{ID: "csat:" + r.TicketID, Type: CSATSubmitted, OccurredAt: r.RatedAt.UTC(),
		Data: EventData{TicketID: r.TicketID, AgentID: r.AgentID, Rating: r.Rating}}
}

// qaRow is a reply_quality row.
type qaRow struct {
	MessageID                            int64
	TicketID, AgentID, GroupID, Position string
	Score                                int
	Findings                             []byte
	CreatedAt                            time.Time
}

func fromQA(r qaRow) Event {
	var findings []Finding // Check and Kind only: the cue is dropped
	_ = json.Unmarshal(r.Findings, &findings)
	score := r.Score
	return Event{ID: "qa:" + strconv.FormatInt(r.MessageID, 10), Type: QAScored, OccurredAt: r.CreatedAt.UTC(),
		Data: EventData{TicketID: r.TicketID, AgentID: r.AgentID, GroupID: r.GroupID, MessageID: r.MessageID,
			Position: r.Position, Score: &score, Findings: findings}}
}
