package tickets

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// moodScorer reads anger from capitals and "!": a stand-in for the trained model.
type moodScorer struct{}

func (moodScorer) Negativity(text string) float64 {
	if strings.Contains(text, "!") || (strings.ToUpper(text) == text && strings.ToLower(text) != text) {
		return 0.9
	}
	return 0.1
}

func ptr[T any](v T) *T { return &v }

// TestConversationScore: a resolved conversation's score is its replies' mean less the
// SLA, closing and mood penalties, and each lost point or flag carries its reason.
func TestConversationScore(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	msg := func(id int64, author string, min int, text string) Message {
		return Message{ID: id, Author: author, Text: text, CreatedAt: at(min)}
	}
	ticket := func(firstReply, due int) Ticket {
		return Ticket{ID: "t1", AssigneeID: "alice", GroupID: "billing", CreatedAt: at(0),
			FirstResponseAt: ptr(at(firstReply)), FirstResponseDue: ptr(at(due)), ResolvedAt: ptr(at(60))}
	}
	replies := func(scores ...int) []StoredReplyQuality {
		var out []StoredReplyQuality
		for i, s := range scores {
			out = append(out, StoredReplyQuality{MessageID: int64(10 + i), ReplyQuality: ReplyQuality{Score: s}})
		}
		return out
	}
	calm := []Message{msg(1, "customer", -1, "my card was charged twice"), msg(2, "agent:alice", 5, "Hello, let me look."),
		msg(3, "customer", 6, "thanks"), msg(4, "agent:alice", 8, "Refunded. Goodbye!")}
	tests := []struct {
		name string
		in   conversationInput
		want ConversationQuality
	}{{
		name: "on time and closed",
		in:   conversationInput{ticket: ticket(5, 30), messages: calm, replies: replies(100, 90), replyTarget: 10 * time.Minute, closing: true, lastReplyID: 4},
		want: ConversationQuality{Score: 95, ReplyScore: 95, Replies: 2, FirstResponseSeconds: ptr(300), FirstResponseTargetSeconds: ptr(1800),
			ReplyTargetSeconds: ptr(600), Closing: true, Reasons: []QualityReason{}},
	}, {
		name: "late first reply, a slow reply, no closing",
		in: conversationInput{ticket: ticket(40, 30), replies: replies(100), replyTarget: 10 * time.Minute, lastReplyID: 4, messages: []Message{
			msg(1, "customer", 0, "hi"), msg(2, "agent:alice", 40, "Hello."), msg(3, "customer", 41, "so?"), msg(5, "customer", 42, "hello?"),
			msg(4, "agent:alice", 55, "Done.")}},
		want: ConversationQuality{Score: 70, ReplyScore: 100, Replies: 1, FirstResponseSeconds: ptr(2400), FirstResponseTargetSeconds: ptr(1800),
			ReplyTargetSeconds: ptr(600), SlowReplies: 1, Reasons: []QualityReason{
				{Check: "first_response_late", Detail: "first reply after 40m; target 30m"},
				{Check: "slow_reply", MessageID: 3, Detail: "customer waited 14m; target 10m"},
				{Check: "missing_closing", MessageID: 4, Detail: "the last reply does not close the conversation"},
			}},
	}, {
		name: "a rude reply flags the conversation whatever its score",
		in: conversationInput{ticket: ticket(5, 30), messages: calm, replyTarget: 10 * time.Minute, closing: true, lastReplyID: 4,
			replies: []StoredReplyQuality{{MessageID: 2, ReplyQuality: ReplyQuality{Score: 80, Findings: []QualityFinding{{Check: "rude", Cue: "calm down"}, {Check: "empathy"}}}}}},
		want: ConversationQuality{Score: 80, ReplyScore: 80, Replies: 1, FirstResponseSeconds: ptr(300), FirstResponseTargetSeconds: ptr(1800),
			ReplyTargetSeconds: ptr(600), Closing: true, Flagged: true, Reasons: []QualityReason{{Check: "rude", MessageID: 2, Cue: "calm down"}}},
	}, {
		name: "the customer leaves angrier",
		in: conversationInput{ticket: ticket(5, 30), replies: replies(100), closing: true, lastReplyID: 4, sentiment: moodScorer{},
			messages: []Message{msg(1, "customer", -1, "my card was charged twice"), msg(2, "agent:alice", 5, "Hello."),
				msg(3, "customer", 6, "THIS IS USELESS!"), msg(4, "agent:alice", 8, "Goodbye.")}},
		want: ConversationQuality{Score: 90, ReplyScore: 100, Replies: 1, FirstResponseSeconds: ptr(300), FirstResponseTargetSeconds: ptr(1800),
			Closing: true, SentimentStart: ptr(0.1), SentimentEnd: ptr(0.9), Flagged: true,
			Reasons: []QualityReason{{Check: "sentiment_worse", Detail: "customer negativity 0.10 at the start, 0.90 at the end"}}},
	}, {
		name: "a low score is flagged",
		in:   conversationInput{ticket: ticket(40, 30), messages: calm, replies: replies(60), lastReplyID: 4},
		want: ConversationQuality{Score: 35, ReplyScore: 60, Replies: 1, FirstResponseSeconds: ptr(2400), FirstResponseTargetSeconds: ptr(1800),
			Flagged: true, Reasons: []QualityReason{
				{Check: "first_response_late", Detail: "first reply after 40m; target 30m"},
				{Check: "missing_closing", MessageID: 4, Detail: "the last reply does not close the conversation"},
				{Check: "low_score", Detail: "score 35 under 70"},
			}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.score()
			ignore := cmpopts.IgnoreFields(ConversationQuality{}, "TicketID", "AgentID", "GroupID", "ResolvedAt")
			if diff := cmp.Diff(tt.want, got, ignore); diff != "" {
				t.Errorf("score (-want +got):\n%s", diff)
			}
		})
	}
}

// TestResolvedConversationsAreInspected: resolving a ticket scores its conversation and
// stores it; the QA view lists it (flagged ones alone on request) and the agent's trend
// counts it; resolving again after a reopen replaces the score.
func TestResolvedConversationsAreInspected(t *testing.T) {
	ts := newTestService(t)
	setupTeam(t, ts)
	ts.Inspector = &fakeInspector{}
	ts.Sentiment = moodScorer{}
	ctx := context.Background()
	alice := Actor{ID: "alice"}

	tk := createFor(t, ts, "c1", "alice", "billing")
	if _, _, err := ts.Reply(ctx, alice, tk.ID, "Hello, I am looking into it."); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.store.AddMessage(ctx, Message{ConversationID: tk.ConversationID, Author: "customer", Text: "WHY IS THIS SO SLOW!"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Reply(ctx, alice, tk.ID, "Refunded, call 13800000000."); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Resolve(ctx, alice, tk.ID); err != nil {
		t.Fatal(err)
	}
	got, err := ts.store.ConversationQualityOf(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{}
	for _, r := range got.Reasons {
		checks[r.Check] = true
	}
	if got.AgentID != "alice" || got.GroupID != "billing" || got.Replies != 2 || got.ReplyScore != 85 || !got.Flagged ||
		!checks["pii"] || !checks["sentiment_worse"] || got.SentimentEnd == nil || *got.SentimentEnd != 0.9 {
		t.Errorf("stored inspection %+v", got)
	}
	insp := ts.Inspector.(*fakeInspector)
	if last := insp.asked[len(insp.asked)-1]; !strings.HasPrefix(last, "billing|Refunded") || !strings.HasSuffix(last, "|last") {
		t.Errorf("closing asked as %q, want the last reply as last", last)
	}

	var audited int
	if err := ts.store.primary.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'ticket.quality' AND target = $1
		AND detail->>'agent' = 'alice' AND (detail->>'flagged')::bool`, tk.ID).Scan(&audited); err != nil || audited != 1 {
		t.Errorf("%d ticket.quality audit events (%v), want 1", audited, err)
	}
	flagged, err := ts.store.QualityConversations(ctx, QualityFilter{FlaggedOnly: true})
	if err != nil || len(flagged) != 1 || flagged[0].TicketID != tk.ID {
		t.Fatalf("flagged conversations %+v, %v", flagged, err)
	}
	if other, err := ts.store.QualityConversations(ctx, QualityFilter{AgentID: "bob"}); err != nil || len(other) != 0 {
		t.Errorf("bob's conversations %+v, %v", other, err)
	}
	trends, err := ts.store.AgentQualityTrends(ctx, QualityTrendQuery{From: got.ResolvedAt.Add(-time.Hour), To: got.ResolvedAt.Add(time.Hour)})
	if err != nil || len(trends) != 1 {
		t.Fatalf("trends %+v, %v", trends, err)
	}
	if a := trends[0]; a.AgentID != "alice" || a.Conversations != 1 || a.Flagged != 1 || a.MeanScore != float64(got.Score) ||
		a.Reasons["pii"] != 1 || len(a.Days) != 1 {
		t.Errorf("alice's trend %+v", a)
	}
	if _, err := ts.store.AgentQualityTrends(ctx, QualityTrendQuery{From: got.ResolvedAt, To: got.ResolvedAt}); err == nil {
		t.Error("an empty period was accepted")
	}

	// Reopened and resolved again: one row, the new score.
	if _, _, err := ts.Reopen(ctx, Actor{ID: "sup", Supervisor: true}, tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Resolve(ctx, Actor{ID: "sup", Supervisor: true}, tk.ID); err != nil {
		t.Fatal(err)
	}
	all, err := ts.store.QualityConversations(ctx, QualityFilter{})
	if err != nil || len(all) != 1 {
		t.Errorf("after a second resolve: %+v, %v", all, err)
	}
	if _, err := ts.store.QualityConversations(ctx, QualityFilter{Limit: 501}); err == nil {
		t.Error("a limit over 500 was accepted")
	}
}
