package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// SentimentScorer tells how negative a customer's message is, from 0 (content) to 1
// (angry); serve adapts nlp/sentiment's trained model to it.
type SentimentScorer interface {
	Negativity(text string) float64
}

// What a conversation's score takes off the mean of its replies' scores, and what flags
// it for a supervisor. A conversation is flagged when its score falls under FlagBelow,
// when a reply was rude, forbidden, promised what may not be kept or typed out personal
// data, or when the customer left angrier than they came.
const (
	penaltyLateFirstResponse = 15
	penaltySlowReply         = 5
	maxSlowReplyPenalty      = 15
	penaltyNoClosing         = 10
	penaltySentimentWorse    = 10
	// sentimentWorse is the rise in negativity (0–1) from the start to the end that
	// counts as the customer leaving angrier.
	sentimentWorse = 0.25
	// FlagBelow is the conversation score under which a conversation is flagged.
	FlagBelow = 70
)

// severeChecks are the reply findings that flag the whole conversation.
var severeChecks = map[string]bool{"rude": true, "forbidden": true, "promise": true, "pii": true}

// ConversationQuality is the inspection of a resolved ticket's conversation.
type ConversationQuality struct {
	TicketID string `json:"ticket_id"`
	AgentID  string `json:"agent_id"`
	GroupID  string `json:"group_id"`
	// Score is the overall score (0–100): ReplyScore less the penalties.
	Score int `json:"score"`
	// ReplyScore is the mean score of the agents' replies; Replies their number.
	ReplyScore int `json:"reply_score"`
	Replies    int `json:"replies"`
	// FirstResponseSeconds is how long the customer waited for the first reply after the
	// escalation; FirstResponseTargetSeconds the SLA's target for it (from the due time
	// set when the ticket opened, business hours included).
	FirstResponseSeconds       *int `json:"first_response_seconds,omitempty"`
	FirstResponseTargetSeconds *int `json:"first_response_target_seconds,omitempty"`
	// ReplyTargetSeconds is the target for each later reply: the priority's first
	// response target, in wall-clock time; SlowReplies counts the waits over it.
	ReplyTargetSeconds *int `json:"reply_target_seconds,omitempty"`
	SlowReplies        int  `json:"slow_replies"`
	// Closing tells whether the last reply closed the conversation.
	Closing bool `json:"closing"`
	// SentimentStart and SentimentEnd are the customer's negativity (0–1) before the
	// first reply and in their last messages; absent without a sentiment model or
	// without messages on both sides of the first reply.
	SentimentStart *float64        `json:"sentiment_start,omitempty"`
	SentimentEnd   *float64        `json:"sentiment_end,omitempty"`
	Flagged        bool            `json:"flagged"`
	Reasons        []QualityReason `json:"reasons"`
	ResolvedAt     time.Time       `json:"resolved_at"`
}

// QualityReason is one reason a conversation lost points or was flagged: a check, a
// human-readable detail, and where it applies, the message and the rule's cue (for
// highlighting) or the kind of personal data.
type QualityReason struct {
	Check     string `json:"check"`
	Detail    string `json:"detail,omitempty"`
	MessageID int64  `json:"message_id,omitempty"`
	Cue       string `json:"cue,omitempty"`
	Kind      string `json:"kind,omitempty"`
}

// inspectConversation scores a resolved ticket's conversation and stores it; like a
// reply's inspection, a failure is logged and counted and the resolution stands.
func (s *Service) inspectConversation(ctx context.Context, t Ticket) {
	if s.Inspector == nil || t.ResolvedAt == nil {
		return
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	q, ok, err := s.conversationQuality(ctx, t)
	if err == nil && ok {
		err = s.store.recordConversationQuality(ctx, q)
	}
	if err != nil {
		if s.Metrics != nil {
			s.Metrics.QualityFailures.Inc()
		}
		if s.Log != nil {
			s.Log.Warn("quality inspection of a resolved conversation failed; the ticket is resolved", "ticket", t.ID, "err", err)
		}
		return
	}
	if ok && s.Metrics != nil {
		s.Metrics.ConversationScore.WithLabelValues(t.GroupID).Observe(float64(q.Score))
		if q.Flagged {
			s.Metrics.ConversationsFlagged.WithLabelValues(t.GroupID).Inc()
		}
	}
}

// conversationQuality computes a resolved ticket's inspection; ok is false when no
// agent replied (nothing to judge).
func (s *Service) conversationQuality(ctx context.Context, t Ticket) (ConversationQuality, bool, error) {
	msgs, err := s.store.conversationTimeline(ctx, t.ConversationID)
	if err != nil {
		return ConversationQuality{}, false, err
	}
	replies, err := s.store.ReplyQualities(ctx, t.ID)
	if err != nil {
		return ConversationQuality{}, false, err
	}
	var target time.Duration
	if pols, err := s.store.SLAPolicies(ctx); err == nil {
		if p, ok := pols[t.Priority]; ok {
			target = time.Duration(p.FirstResponseMinutes) * time.Minute
		}
	} else {
		return ConversationQuality{}, false, err
	}
	in := conversationInput{ticket: t, messages: msgs, replies: replies, replyTarget: target, sentiment: s.Sentiment}
	last, ok := in.lastAgentReply()
	if !ok {
		return ConversationQuality{}, false, nil
	}
	rq, err := s.Inspector.InspectReply(ctx, t.GroupID, last.Text, PositionLast)
	if err != nil {
		return ConversationQuality{}, false, err
	}
	in.closing = true
	for _, f := range rq.Findings {
		if f.Check == "missing_closing" {
			in.closing = false
		}
	}
	in.lastReplyID = last.ID
	return in.score(), true, nil
}

// conversationInput is what a conversation's score is computed from.
type conversationInput struct {
	ticket      Ticket
	messages    []Message // the whole conversation, oldest first
	replies     []StoredReplyQuality
	replyTarget time.Duration
	sentiment   SentimentScorer
	closing     bool
	lastReplyID int64
}

// ticketMessages are the messages since the ticket opened (the escalation).
func (in conversationInput) ticketMessages() []Message {
	var out []Message
	for _, m := range in.messages {
		if !m.CreatedAt.Before(in.ticket.CreatedAt) {
			out = append(out, m)
		}
	}
	return out
}

func (in conversationInput) lastAgentReply() (Message, bool) {
	ms := in.ticketMessages()
	for i := len(ms) - 1; i >= 0; i-- {
		if strings.HasPrefix(ms[i].Author, "agent:") && ms[i].Attachment == nil {
			return ms[i], true
		}
	}
	return Message{}, false
}

// score computes the conversation's inspection from its parts.
func (in conversationInput) score() ConversationQuality {
	t := in.ticket
	q := ConversationQuality{TicketID: t.ID, AgentID: t.AssigneeID, GroupID: t.GroupID, Closing: in.closing,
		Reasons: []QualityReason{}, ResolvedAt: *t.ResolvedAt}
	if q.AgentID == "" {
		if m, ok := in.lastAgentReply(); ok {
			q.AgentID = strings.TrimPrefix(m.Author, "agent:")
		}
	}
	// The replies' mean score, and the findings that flag the conversation: the
	// replies of the agent it is scored for (an earlier agent's, before a transfer,
	// stay scored as theirs reply by reply).
	replies := in.repliesOf(q.AgentID)
	q.ReplyScore, q.Replies = 100, len(replies)
	if len(replies) > 0 {
		sum := 0
		for _, r := range replies {
			sum += r.Score
			for _, f := range r.Findings {
				if severeChecks[f.Check] {
					q.Reasons = append(q.Reasons, QualityReason{Check: f.Check, MessageID: r.MessageID, Cue: f.Cue, Kind: f.Kind})
					q.Flagged = true
				}
			}
		}
		q.ReplyScore = int(math.Round(float64(sum) / float64(len(replies))))
	}
	score := q.ReplyScore

	// The first response against its due time.
	if t.FirstResponseAt != nil {
		s := seconds(t.FirstResponseAt.Sub(t.CreatedAt))
		q.FirstResponseSeconds = &s
		if t.FirstResponseDue != nil {
			target := seconds(t.FirstResponseDue.Sub(t.CreatedAt))
			q.FirstResponseTargetSeconds = &target
			if t.FirstResponseAt.After(*t.FirstResponseDue) {
				score -= penaltyLateFirstResponse
				q.Reasons = append(q.Reasons, QualityReason{Check: "first_response_late",
					Detail: fmt.Sprintf("first reply after %s; target %s", human(t.FirstResponseAt.Sub(t.CreatedAt)), human(t.FirstResponseDue.Sub(t.CreatedAt)))})
			}
		}
	}

	// Each later wait: a customer's message (the first of a run) to the next reply.
	ms := in.ticketMessages()
	if in.replyTarget > 0 {
		target := seconds(in.replyTarget)
		q.ReplyTargetSeconds = &target
		answered := false // an agent has replied once: waits before that are the first response's
		var waiting *Message
		for i := range ms {
			m := &ms[i]
			switch {
			case strings.HasPrefix(m.Author, "agent:"):
				if waiting != nil && answered {
					if wait := m.CreatedAt.Sub(waiting.CreatedAt); wait > in.replyTarget {
						q.SlowReplies++
						q.Reasons = append(q.Reasons, QualityReason{Check: "slow_reply", MessageID: waiting.ID,
							Detail: fmt.Sprintf("customer waited %s; target %s", human(wait), human(in.replyTarget))})
					}
				}
				answered, waiting = true, nil
			case m.Author == "customer" && waiting == nil:
				waiting = m
			}
		}
		score -= min(q.SlowReplies*penaltySlowReply, maxSlowReplyPenalty)
	}

	if !in.closing {
		score -= penaltyNoClosing
		q.Reasons = append(q.Reasons, QualityReason{Check: "missing_closing", MessageID: in.lastReplyID, Detail: "the last reply does not close the conversation"})
	}

	// The customer's mood before the first reply (escalation included) and at the end.
	if in.sentiment != nil {
		if start, end, ok := in.sentimentTrend(); ok {
			q.SentimentStart, q.SentimentEnd = &start, &end
			if end-start >= sentimentWorse {
				score -= penaltySentimentWorse
				q.Flagged = true
				q.Reasons = append(q.Reasons, QualityReason{Check: "sentiment_worse",
					Detail: fmt.Sprintf("customer negativity %.2f at the start, %.2f at the end", start, end)})
			}
		}
	}

	q.Score = max(0, min(100, score))
	if q.Score < FlagBelow {
		q.Flagged = true
		q.Reasons = append(q.Reasons, QualityReason{Check: "low_score", Detail: fmt.Sprintf("score %d under %d", q.Score, FlagBelow)})
	}
	return q
}

// repliesOf are the inspected replies agent wrote, or all of them when agent wrote none.
func (in conversationInput) repliesOf(agent string) []StoredReplyQuality {
	var out []StoredReplyQuality
	for _, r := range in.replies {
		if r.AgentID == agent {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return in.replies
	}
	return out
}

// sentimentTrend: the mean negativity of the customer's last (up to) three messages
// before the first agent reply of the ticket, and of their last (up to) two after it.
func (in conversationInput) sentimentTrend() (start, end float64, ok bool) {
	var before, after []string
	replied := false
	for _, m := range in.messages {
		switch {
		case strings.HasPrefix(m.Author, "agent:") && !m.CreatedAt.Before(in.ticket.CreatedAt):
			replied = true
		case m.Author == "customer" && !replied:
			before = append(before, m.Text)
		case m.Author == "customer":
			after = append(after, m.Text)
		}
	}
	if len(before) == 0 || len(after) == 0 {
		return 0, 0, false
	}
	mean := func(texts []string) float64 {
		sum := 0.0
		for _, s := range texts {
			sum += in.sentiment.Negativity(s)
		}
		return math.Round(sum/float64(len(texts))*1000) / 1000
	}
	return mean(before[max(0, len(before)-3):]), mean(after[max(0, len(after)-2):]), true
}

func seconds(d time.Duration) int { return int(d.Round(time.Second) / time.Second) }

// human writes a wait as 42s, 12m or 3h05m.
func human(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// conversationTimeline reads a conversation from the primary (the ticket was just
// resolved there), archived messages included, oldest first.
func (s *TicketRecords) conversationTimeline(ctx context.Context, conversationID string) ([]Message, error) {
	// with attachments: files an agent sent are not replies (the closing is in words)
	return conversationMessages(ctx, s.primary, conversationID)
}

const conversationQualityCols = `ticket_id, agent_id, group_id, score, reply_score, replies, first_response_seconds,
	first_response_target_seconds, reply_target_seconds, slow_replies, closing, sentiment_start, sentiment_end,
	flagged, reasons, resolved_at`

// recordConversationQuality stores a conversation's inspection with its audit event
// (ticket.quality: the agent, group, score and whether it was flagged; the outbound
// webhooks send it as qa.conversation_scored).
func (s *Store) recordConversationQuality(ctx context.Context, q ConversationQuality) error {
	reasons, err := json.Marshal(q.Reasons)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		if err := s.insertConversationQuality(ctx, tx, q, reasons); err != nil {
			return err
		}
		return s.AppendAudit(ctx, tx, "quality", "ticket.quality", q.TicketID,
			map[string]any{"agent": q.AgentID, "group": q.GroupID, "score": q.Score, "flagged": q.Flagged})
	})
	return mapPgErr(err, "conversation quality")
}

func (s *Store) insertConversationQuality(ctx context.Context, tx pgx.Tx, q ConversationQuality, reasons []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO conversation_quality (`+conversationQualityCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (ticket_id) DO UPDATE SET agent_id = EXCLUDED.agent_id, group_id = EXCLUDED.group_id,
			score = EXCLUDED.score, reply_score = EXCLUDED.reply_score, replies = EXCLUDED.replies,
			first_response_seconds = EXCLUDED.first_response_seconds,
			first_response_target_seconds = EXCLUDED.first_response_target_seconds,
			reply_target_seconds = EXCLUDED.reply_target_seconds, slow_replies = EXCLUDED.slow_replies,
			closing = EXCLUDED.closing, sentiment_start = EXCLUDED.sentiment_start,
			sentiment_end = EXCLUDED.sentiment_end, flagged = EXCLUDED.flagged, reasons = EXCLUDED.reasons,
			resolved_at = EXCLUDED.resolved_at`,
		q.TicketID, q.AgentID, q.GroupID, q.Score, q.ReplyScore, q.Replies, q.FirstResponseSeconds,
		q.FirstResponseTargetSeconds, q.ReplyTargetSeconds, q.SlowReplies, q.Closing, q.SentimentStart,
		q.SentimentEnd, q.Flagged, reasons, q.ResolvedAt)
	return err
}
