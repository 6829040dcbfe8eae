package tickets

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// After hours: a ticket that waits in the queue while the skill group it is filed
// under is closed (by the group's Calendar) tells its customer when the group opens
// next. The bot flow puts that in its reply to the escalating turn; for a ticket
// opened otherwise the ticket core writes it into the conversation (AuthorAfterHours),
// queued to a push channel like an agent's reply.

// AuthorAfterHours is the author of the after-hours notice in a conversation.
const AuthorAfterHours = "system:after_hours"

// AfterHours says that a ticket waits while its skill group is closed, and when
// the group opens next.
type AfterHours struct {
	GroupID string `json:"group_id"`
	// OpensAt is the next opening, in the group's time zone (its offset shows the
	// local time).
	OpensAt  time.Time `json:"opens_at"`
	Timezone string    `json:"timezone"`
	asOf     time.Time // when the group was found closed (zero: unknown)
}

// afterHours reports whether group groupID is closed at now by its calendar,
// and when it opens next; nil when it is open, has no calendar, or does not
// open within years.
func afterHours(groups []SkillGroup, groupID string, now time.Time) (*AfterHours, error) {
	i := slices.IndexFunc(groups, func(g SkillGroup) bool { return g.ID == groupID })
	if i < 0 || groups[i].Calendar == nil {
		return nil, nil
	}
	cal := groups[i].Calendar
	h, err := cal.hours()
	if err != nil {
		return nil, fmt.Errorf("skill group %s: %w", groupID, err)
	}
	openNow, opens, ok := h.nextOpen(now)
	if openNow || !ok {
		return nil, nil
	}
	return &AfterHours{GroupID: groupID, OpensAt: opens.In(h.loc), Timezone: cal.Timezone, asOf: now}, nil
}

// When is the next opening as a customer reads it in lang ("zh", else English),
// in the group's local time: "Mon 09:00 (Asia/Shanghai)", "周一 09:00（Asia/Shanghai）".
// An opening a week or more away carries its date.
func (a AfterHours) When(lang string) string {
	t := a.OpensAt
	far := !a.asOf.IsZero() && t.Sub(a.asOf) >= 6*24*time.Hour
	if lang == "zh" {
		day := [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}[t.Weekday()]
		if far {
			day = fmt.Sprintf("%d月%d日%s", t.Month(), t.Day(), day)
		}
		return fmt.Sprintf("%s %s（%s）", day, t.Format("15:04"), a.Timezone)
	}
	if far {
		return t.Format("Mon 2 Jan 15:04") + " (" + a.Timezone + ")"
	}
	return t.Format("Mon 15:04") + " (" + a.Timezone + ")"
}

// Text is the after-hours notice to the customer in lang ("zh", else English).
func (a AfterHours) Text(lang string) string {
	if lang == "zh" {
		return "人工客服现在不在工作时间，将于" + a.When(lang) + "上线。您的问题已进入人工队列，客服上线后会在这里回复您。"
	}
	return "Our team is away right now and back " + a.When(lang) +
		". Your request is in the queue; an agent will answer you here then."
}

// noticeAfterHours writes the after-hours notice into ticket t's conversation, in
// the language the customer wrote (said), and queues it to a push channel. The
// ticket is open already: a failure is logged, not returned.
func (s *Service) noticeAfterHours(ctx context.Context, t Ticket, said string) {
	text := t.AfterHours.Text(writtenIn(said))
	var m Message
	err := pgx.BeginFunc(ctx, s.store.Pool(), func(tx pgx.Tx) error {
		var err error
		if m, err = InsertMessageTx(ctx, tx, Message{ConversationID: t.ConversationID, Author: AuthorAfterHours, Text: text}); err != nil {
			return err
		}
		return s.store.QueueReplyTx(ctx, tx, m, text)
	})
	if err != nil {
		s.Log.Error("after-hours notice", "ticket", t.ID, "err", err)
		return
	}
	s.store.AnnounceMessage(ctx, m.ConversationID, m.ID, m.Author)
}
