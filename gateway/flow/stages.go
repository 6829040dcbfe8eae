package flow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

// Understanding is what the understand stage learns about a message.
type Understanding struct {
	Language   string
	Intent     string
	Confidence float64
	WantsHuman bool
	Frustrated bool
}

// Understander classifies redacted text (nlp/).
type Understander interface {
	Understand(ctx context.Context, text string) (Understanding, error)
}

// Answer is the knowledge base's best answer to a message.
type Answer struct {
	Text       string
	Citations  []pipeline.Citation
	Confidence float64
}

// Answerer answers redacted text from the knowledge base (kb/).
type Answerer interface {
	Answer(ctx context.Context, text string) (Answer, error)
}

// redactStage replaces PII in the turn's text; it runs fail-closed.
func redactStage(r *pii.Redactor) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		text, secrets, n, err := redact(pii.WithRegion(ctx, t.Region), r, t.RawText())
		if err != nil {
			return err
		}
		t.Text, t.Redactions, t.Secrets = text, n, secrets
		if m := mediaMarker(t); m != "" {
			if strings.TrimSpace(t.Text) == "" {
				t.Text = m
			} else {
				t.Text += "\n" + m
			}
		}
		return nil
	})
}

// redact is the one redaction of customer words, typed or transcribed (at ingress or by
// the deferred speech step): NULs dropped (PostgreSQL text cannot hold them), look-alikes
// of the media markers defused (only the media steps write those), PII replaced by
// placeholders, and the originals kept, once per placeholder, for the vault.
func redact(ctx context.Context, r *pii.Redactor, raw string) (text string, secrets []pipeline.Secret, n int, err error) {
	raw = strings.ReplaceAll(raw, "\x00", "")
	raw = strings.ReplaceAll(raw, "[photo:", "(photo:")
	raw = strings.ReplaceAll(raw, "[voice message", "(voice message")
	res, err := r.Redact(ctx, raw)
	if err != nil {
		return "", nil, 0, err
	}
	seen := map[string]bool{}
	for _, sp := range res.Spans {
		if !seen[sp.Placeholder] && sp.Start >= 0 && sp.End <= len(raw) && sp.Start < sp.End {
			seen[sp.Placeholder] = true
			secrets = append(secrets, pipeline.Secret{Placeholder: sp.Placeholder, Kind: sp.Type, Value: raw[sp.Start:sp.End]})
		}
	}
	return res.Text, secrets, len(res.Spans), nil
}

// mediaMarker makes the turn's media visible in the transcript: photos with the labels
// the vision stage gave them (or "[photo]" without one), voice messages no speech
// stage transcribed, and videos with their frames' labels (video.go).
func mediaMarker(t *pipeline.Turn) string {
	var marks []string
	if m := voiceMark(t); m != "" {
		marks = append(marks, m)
	}
	photos := 0
	for _, p := range t.Parts {
		if p.Kind == pipeline.PartImage {
			photos++
		}
	}
	if photos > 0 {
		if len(t.Labels) > 0 {
			marks = append(marks, photoMarker(t.Labels, t.Categories))
		} else {
			marks = append(marks, strings.TrimSpace(strings.Repeat("[photo] ", photos)))
		}
	}
	if m := videoMarker(t); m != "" {
		marks = append(marks, m)
	}
	return strings.Join(marks, " ")
}

// persistStage makes the redacted turn durable before anything answers it;
// a redelivered channel message is marked Duplicate and carries its stored outcome. A
// turn its receiver answers inline (Lease > 0: the REST channel and web chat) is
// acknowledged only with its reply, and the reply's commit is synchronous
// (RecordAnswer): that commit also flushes this one, so it need not wait for its own
// flush (tickets.Inbound.DeferFlush). A webhook turn is acknowledged right after this
// stage and waits for the flush here.
func persistStage(inbox Inbox, threadIdle time.Duration) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		secrets := make([]tickets.Secret, len(t.Secrets))
		for i, sec := range t.Secrets {
			secrets[i] = tickets.Secret(sec)
		}
		lease := t.Lease
		if len(t.DeferredAudio) > 0 {
			// The stash comes first: once the turn is recorded (and acknowledged),
			// its voice notes are durable too. The queue answers the turn.
			media := make([]tickets.Media, len(t.DeferredAudio))
			for i, p := range t.DeferredAudio {
				media[i] = tickets.Media{Part: i, MIME: p.MIME, Data: p.Data}
			}
			if err := inbox.StashMedia(ctx, t.Channel, t.ChannelMessageID, media); err != nil {
				return err
			}
			lease = 0
		}
		res, err := inbox.RecordInbound(ctx, tickets.Inbound{Channel: t.Channel, ChannelMessageID: t.ChannelMessageID,
			ConversationID: t.ConversationID, CustomerRef: t.CustomerRef, CustomerName: strings.ReplaceAll(t.CustomerName, "\x00", ""), Text: t.Text,
			Thread: t.Thread, ThreadIdle: threadIdle, ReplyTo: t.ReplyTo, Lease: lease, Secrets: secrets, DeferFlush: lease > 0,
			Facts: factsOf(t)})
		if err != nil {
			return err
		}
		t.ConversationID, t.CustomerID, t.MessageID, t.Duplicate = res.ConversationID, res.CustomerID, res.MessageID, res.Duplicate
		t.NewConversation, t.StoredOutcome = res.NewConversation, res.Outcome
		t.VoicePending = len(t.DeferredAudio) > 0 && !res.Duplicate
		return nil
	})
}

// factsOf are what later steps need of the turn's media, stored with it as fields (the
// markers in the text are for people).
func factsOf(t *pipeline.Turn) tickets.TurnFacts {
	f := tickets.TurnFacts{Categories: t.Categories, VoicePending: len(t.DeferredAudio) > 0}
	for _, l := range t.Labels {
		f.Labels = append(f.Labels, tickets.Label(l))
	}
	return f
}

func understandStage(u Understander) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		r, err := u.Understand(ctx, ForModels(t.Text))
		if err != nil {
			return err
		}
		t.Language, t.Intent, t.IntentConfidence, t.WantsHuman, t.Frustrated = r.Language, r.Intent, r.Confidence, r.WantsHuman, r.Frustrated
		// a photo's support category stands in for an intent the words did not give
		if cats := t.Categories; len(cats) > 0 && (t.Intent == "" || t.IntentConfidence < 0.5) {
			t.Intent, t.IntentConfidence = cats[0], 1
		}
		return nil
	})
}

func respondStage(a Answerer, pol EscalationPolicy) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		if draft, ok := ctx.Value(draftsKey{}).(func(string)); ok && draft != nil && !t.WantsHuman {
			ctx = context.WithValue(ctx, streamKey{}, &kb.Stream{Draft: draft, Allow: func(confidence float64) bool {
				return !pol.Escalates(false, t.Intent, t.Language, "answer", confidence)
			}})
		}
		ans, err := a.Answer(ctx, ForModels(t.Text))
		if err != nil {
			return err
		}
		t.Reply, t.Citations, t.Confidence = ans.Text, ans.Citations, ans.Confidence
		return nil
	})
}

// resumeStage finds the ticket an earlier attempt of a retried turn escalated into (the
// attempt committed it, then failed before the turn was done: a timeout of its audit or
// routing). The turn then names that ticket and repeats the handover reply, in the
// language the ticket's handoff recorded, whatever the ticket's status now: it is not
// opened, audited or routed again (routing that failed is the reconciler's), and the
// bot does not answer a turn it already handed over.
func resumeStage(tix OpenTickets) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		tk, err := tix.TicketForTurn(ctx, t.MessageID)
		if errors.Is(err, tickets.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		t.Resumed, t.Escalated, t.TicketID = true, true, tk.ID
		if h := tk.Handoff; h != nil {
			t.Language, t.Intent, t.WantsHuman = h.Language, h.Intent, h.Reason == tickets.HandoffAskedForHuman
		}
		t.Reply, t.Citations = HandoverText(t.Language), nil
		return nil
	})
}

// handoverStage finds the conversation's open ticket, when it is older than the turn.
// When an agent holds it, the turn is the agent's: no bot answer, the ticket goes back to the agent if it was pending on
// the customer. While the ticket still waits in the queue the customer gets a short
// notice instead of a bot answer (at most every queuedNoticeEvery), so they know a human
// is coming.
func handoverStage(desk Desk, tix OpenTickets) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		open, err := tix.OpenTicketFor(ctx, t.ConversationID)
		if errors.Is(err, tickets.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if !t.ReceivedAt.IsZero() && open.CreatedAt.After(t.ReceivedAt) {
			// The ticket is younger than the message: this turn's own escalation, made
			// by an attempt that failed before it recorded its answer (the store went
			// away), or a concurrent turn's. The escalate stage joins it and answers
			// with the handover, as that attempt would have.
			return nil
		}
		t.WithAgent, t.Escalated, t.TicketID = true, true, open.ID
		if open.Status == tickets.StatusOpen {
			// once every few minutes is reminder enough
			spoke, err := tix.BotSpokeSince(ctx, t.ConversationID, time.Now().Add(-queuedNoticeEvery))
			if err != nil {
				return err
			}
			if !spoke {
				t.Reply = queuedText(t.Text)
			}
			return nil
		}
		return desk.CustomerReplied(ctx, open.ID)
	})
}

// ratingStage takes the message as the rating of the customer's resolved ticket when it
// is one ("5", "4 quick and kind"); the bot's reply thanks them and nothing else runs.
func ratingStage(r Ratings) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		res, err := r.RateCSAT(ctx, t.CustomerID, t.Text)
		if err != nil || !res.Rated {
			return err
		}
		t.Rated, t.Reply = true, res.Reply
		return nil
	})
}

// queuedNoticeEvery spaces the queue notices of a waiting customer.
const queuedNoticeEvery = 3 * time.Minute

// queuedText tells a customer whose ticket waits for an agent that one is coming, in
// the language the message looks written in.
func queuedText(text string) string {
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return "您已在人工客服队列中，客服接入后会在这里回复您。"
		}
	}
	return "You're in the queue for a human agent; they will answer here as soon as one is free."
}

// EscalationPolicy decides when the bot hands over to a human.
type EscalationPolicy struct {
	MinConfidence float64 // answers below this escalate
	// MinConfidenceByLanguage overrides MinConfidence for a message's language.
	MinConfidenceByLanguage map[string]float64
	IntentSkills            map[string][]string // intents that always escalate, with the skills they need
}

// Escalates says whether a turn in language lang goes to a human: the customer asked for
// one, the intent always escalates, or there is no answer confident enough for that
// language. The pipeline's escalate stage decides by it.
func (p EscalationPolicy) Escalates(wantsHuman bool, intent, lang, reply string, confidence float64) bool {
	_, byIntent := p.IntentSkills[intent]
	floor, ok := p.MinConfidenceByLanguage[lang]
	if !ok {
		floor = p.MinConfidence
	}
	return wantsHuman || byIntent || reply == "" || confidence < floor
}

// botActor opens tickets for the flow. It is not a supervisor, so an
// escalation never changes a customer's stored VIP tier.
var botActor = tickets.Actor{ID: "bot"}

// escalateStage opens (or reuses) a ticket for the conversation when the
// customer wants a human, the answer is not confident enough, or the intent
// says so; the customer is told, and when the ticket's skill group is closed,
// told when it opens next. Without a desk (`switchboard ask`) it only decides.
func escalateStage(desk Desk, tix OpenTickets, pol EscalationPolicy) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		skills := pol.IntentSkills[t.Intent]
		// photos' support categories are skills too (a "damaged parcel" group)
		for _, c := range t.Categories {
			if !slices.Contains(skills, c) {
				skills = append(slices.Clone(skills), c)
			}
		}
		if t.ToolFailure == "" && !pol.Escalates(t.WantsHuman, t.Intent, t.Language, t.Reply, t.Confidence) {
			return nil
		}
		t.Escalated = true
		handoff := handoffOf(t, pol)
		t.Reply, t.Citations = HandoverText(t.Language), nil
		if desk == nil {
			return nil
		}
		// The handover stage found no open ticket (or the turn opened its
		// conversation); should one appear meanwhile, the insert conflicts and
		// joins it below.
		prio := tickets.PriorityNormal
		if t.Frustrated {
			prio = tickets.PriorityHigh
		}
		tk, _, err := desk.CreateTicket(ctx, botActor, tickets.NewTicket{Customer: tickets.Customer{PseudonymousID: t.CustomerRef},
			Channel: t.Channel, ConversationID: t.ConversationID, Subject: subjectOf(t.Text), Priority: prio, Skills: skills, Handoff: handoff,
			// The reply is recorded with a synchronous commit before anyone
			// is answered (RecordAnswer).
			DeferFlush: true,
			// the reply below tells the customer when the group is closed
			AnswersAfterHours: true,
			// a retried attempt of the turn gets the ticket an earlier one stored
			OriginMessageID: t.MessageID})
		if errors.Is(err, tickets.ErrConflict) {
			// A concurrent turn of this conversation escalated first: join its ticket.
			tk, err = tix.OpenTicketFor(ctx, t.ConversationID)
		}
		if err != nil {
			return fmt.Errorf("escalate: %w", err)
		}
		t.TicketID = tk.ID
		if tk.AfterHours != nil {
			// the ticket waits while its group is closed: say until when
			t.Reply = tk.AfterHours.Text(t.Language)
		}
		return nil
	})
}

// handoffOf is the summary an escalating turn leaves the agent: why (the first of the
// policy's reasons that holds), what the customer asked, the bot's best answer below the
// bar and its sources, the language and the customer's mood.
func handoffOf(t *pipeline.Turn, pol EscalationPolicy) *tickets.Handoff {
	h := &tickets.Handoff{Asked: t.Text, Intent: t.Intent, Language: t.Language, Confidence: t.Confidence, Frustrated: t.Frustrated}
	_, byIntent := pol.IntentSkills[t.Intent]
	switch {
	case t.ToolFailure != "":
		h.Reason, h.ToolFailure = tickets.HandoffToolFailed, t.ToolFailure
		return h
	case t.WantsHuman:
		h.Reason = tickets.HandoffAskedForHuman
	case byIntent:
		h.Reason = tickets.HandoffIntent
	case t.Reply == "":
		h.Reason = tickets.HandoffNoAnswer
	default:
		h.Reason = tickets.HandoffLowConfidence
	}
	if t.WantsHuman || t.Reply == "" {
		return h // the answer, and its sources, were not the point
	}
	h.BotAnswer = t.Reply
	for _, c := range t.Citations {
		if src := cmp.Or(c.Title, c.Source); src != "" && !slices.Contains(h.Sources, src) {
			h.Sources = append(h.Sources, src)
		}
	}
	return h
}

// HandoverText tells the customer a human takes over, in the language of the message.
func HandoverText(lang string) string {
	if lang == "zh" {
		return "正在为您转接人工客服，请稍候。"
	}
	return "I'm connecting you with a human agent now."
}

// subjectOf makes a ticket subject from redacted text.
func subjectOf(text string) string {
	s := strings.Join(strings.Fields(text), " ")
	if len(s) <= 120 {
		return s
	}
	cut := 120
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
