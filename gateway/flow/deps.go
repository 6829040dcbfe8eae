package flow

import (
	"context"
	"log/slog"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/tickets"
)

// The flow's seams to the ticket core: each names only what its steps call.
// *tickets.Store is an Inbox and OpenTickets, *tickets.Service a Desk.

// Inbox keeps customer turns: the persist step records them (with the voice notes left
// to the queue), the deferred speech step reads those notes back and writes their
// transcript into the stored turn.
type Inbox interface {
	RecordInbound(ctx context.Context, in tickets.Inbound) (tickets.InboundResult, error)
	StashMedia(ctx context.Context, channel, messageID string, media []tickets.Media) error
	StashedMedia(ctx context.Context, channel, messageID string) ([]tickets.Media, error)
	ResolveMedia(ctx context.Context, p tickets.PendingTurn, text string, secrets []tickets.Secret) error
}

// OpenTickets is the resume, handover and escalate steps' view of a conversation's open
// ticket and of the ticket a turn escalated into.
type OpenTickets interface {
	OpenTicketFor(ctx context.Context, conversationID string) (tickets.Ticket, error)
	TicketForTurn(ctx context.Context, messageID int64) (tickets.Ticket, error)
	BotSpokeSince(ctx context.Context, conversationID string, since time.Time) (bool, error)
}

// Desk opens tickets for escalated turns and hands a ticket back to its agent when the
// customer writes again.
type Desk interface {
	CreateTicket(ctx context.Context, actor tickets.Actor, n tickets.NewTicket) (tickets.Ticket, *tickets.Assignment, error)
	CustomerReplied(ctx context.Context, id string) error
}

// TurnQueue is the worker's seam to the durable queues: it claims stored turns and
// queued replies under a lease, records their outcome, and reports the queues' sizes.
// *tickets.Store is one.
type TurnQueue interface {
	ClaimTurn(ctx context.Context, lease time.Duration, maxAbandoned int) (tickets.PendingTurn, bool, error)
	ExtendLease(ctx context.Context, channel, channelMessageID string, attempt int, lease time.Duration) error
	RecordReply(ctx context.Context, r tickets.TurnReply) error
	CompleteTurn(ctx context.Context, channel, channelMessageID string, attempt int, outcome any) error
	FailTurn(ctx context.Context, channel, channelMessageID string, attempt int, cause error, policy tickets.RetryPolicy) (dead bool, err error)
	ClaimOutbound(ctx context.Context, lease time.Duration, maxAbandoned int) (tickets.Outbound, bool, error)
	OpenOriginal(o tickets.Outbound) (string, error)
	FinishOutbound(ctx context.Context, o tickets.Outbound, cause error, policy tickets.RetryPolicy) (dead bool, err error)
	RetryChannelNow(ctx context.Context, channel string) (int64, error)
	ReplyDue(ctx context.Context, conversationID string, logID int64) (bool, error)
	DeferTurn(ctx context.Context, channel, channelMessageID string, attempt int, after time.Duration) error
	GiveUpAbandoned(ctx context.Context, maxAbandoned int) ([]tickets.QueueCount, error)
	ReleaseOriginals(ctx context.Context) (int64, error)
	QueueCounts(ctx context.Context) ([]tickets.QueueCount, error)
}

// Deps are the domain services the flow's pipelines are built from. Understander and
// Answerer are optional: without them the turn is marked degraded for that step and, with
// no confident answer, escalates. Without Inbox (and OpenTickets, Desk) the flow stores
// nothing: `switchboard ask` runs it so.
type Deps struct {
	Redactor    *pii.Redactor
	Inbox       Inbox
	OpenTickets OpenTickets
	Desk        Desk
	// Understander and Answerer are nlp/ and kb/ behind the adapters of adapters.go.
	Understander Understander
	Answerer     Answerer
	Escalation   EscalationPolicy
	// Vision labels photos (nil: photos are stored as "[photo]").
	Vision ImageClassifier
	// Fetchers download media that channels deliver by reference, by channel name.
	Fetchers map[string]MediaFetcher
	// MaxMediaBytes bounds one fetched medium (default 20 MiB).
	MaxMediaBytes int64
	// Speech transcribes voice notes (no Service: they are stored as "[voice message]").
	Speech Speech
	// ConversationIdle ends a channel thread's conversation: a message after this much
	// silence (and no open ticket) opens a new one (default 24 h).
	ConversationIdle time.Duration
	// Media bounds the memory of voice-note decodes (nil: unbounded); photos are bounded
	// by the classifier's own vision.Options.Memory.
	Media *MediaBudget
	// Ratings takes a customer's answer to the invitation to rate a resolved ticket (nil:
	// no ratings are taken; every message is a turn).
	Ratings Ratings
	// Orders answers questions about an order from the ERP (nil: the knowledge base
	// answers them like any other); Compile it first.
	Orders *OrderTool
	// Video reads video notes: frames to Vision, sound to Speech (a nil Decoder: videos
	// are stored as "[video]").
	Video Video
}

// Ratings takes a customer's message as the rating of their resolved ticket, when it
// is one (tickets.Service.RateCSAT).
type Ratings interface {
	RateCSAT(ctx context.Context, customerID, text string) (tickets.CSATResult, error)
}

func (d Deps) speech() Speech {
	sp := d.Speech
	sp.media = d.Media
	return sp
}

// IngressSteps run while the channel waits. Media steps come first and fail open: fetch
// (media the channel sent by reference), speech (voice-note transcripts; long notes are
// left to the queue) and vision (labels for photos). Then redaction (fail-closed) and
// persistence (fail-closed): once they pass, the turn is durable and the channel may be
// acknowledged. The order is docs/architecture.md's ("One message").
func (d Deps) IngressSteps() []pipeline.Step {
	var steps []pipeline.Step
	if len(d.Fetchers) > 0 {
		max := d.MaxMediaBytes
		if max <= 0 {
			max = 20 << 20
		}
		steps = append(steps, pipeline.Step{Name: "fetch", Stage: fetchStage(d.Fetchers, max, d.Video.Decoder != nil), Timeout: 10 * time.Second,
			Skip: func(t *pipeline.Turn) bool { return !hasMediaToFetch(t) }})
	}
	if d.Speech.Service != nil {
		// A note up to the inline limit is transcribed while the channel waits; the
		// stage's time covers the decode, a wait for a recognizer and the decode of up
		// to InlineMax of audio at a real-time factor well below 1.
		steps = append(steps, pipeline.Step{Name: "speech", Stage: speechStage(d.speech()), Timeout: 5*time.Second + max(d.Speech.inlineMax(), 0),
			Skip: func(t *pipeline.Turn) bool { return !hasAudio(t) }})
	}
	if d.Vision != nil {
		steps = append(steps, pipeline.Step{Name: "vision", Stage: visionStage(d.Vision), Timeout: 5 * time.Second,
			Skip: func(t *pipeline.Turn) bool { return !hasImage(t) }})
	}
	if d.Video.Decoder != nil {
		// the decoder's own limits bound its work (20 s by default); the frames'
		// classification and the sound's transcription come on top
		steps = append(steps, pipeline.Step{Name: "video", Stage: videoStage(d.Video), Timeout: 45 * time.Second,
			Skip: func(t *pipeline.Turn) bool { return !hasVideo(t) }})
	}
	steps = append(steps, pipeline.Step{Name: "redact", Stage: redactStage(d.Redactor), FailClosed: true, Timeout: 2 * time.Second})
	if d.Inbox != nil {
		steps = append(steps, pipeline.Step{Name: "persist", Stage: persistStage(d.Inbox, d.ConversationIdle), FailClosed: true, Timeout: 5 * time.Second})
	}
	return steps
}

// ProcessSteps answer a stored turn, in the order of docs/architecture.md ("One message").
// They run inline for the REST channel and web chat, and from the durable queue for
// webhooks. The first, deferred speech, transcribes the voice notes ingress left to the
// queue; it fails closed (the worker retries the turn) and has no deadline of its own:
// a long note takes what it takes, within the worker's bound on an attempt.
func (d Deps) ProcessSteps() []pipeline.Step {
	var steps []pipeline.Step
	if d.Speech.Service != nil && d.Inbox != nil {
		steps = append(steps, pipeline.Step{Name: "speech_deferred", Stage: deferredSpeechStage(d.Inbox, d.speech(), d.Redactor),
			FailClosed: true,
			Skip:       func(t *pipeline.Turn) bool { return !t.VoicePending }})
	}
	if d.OpenTickets != nil {
		// A retried turn (the receiver's own attempt is 1) may have escalated already.
		steps = append(steps, pipeline.Step{Name: "resume", Stage: resumeStage(d.OpenTickets), Timeout: 2 * time.Second, FailClosed: true,
			Skip: func(t *pipeline.Turn) bool { return t.Attempt <= 1 || t.MessageID == 0 }})
		// A conversation this turn opened has no ticket yet; once one has, the bot is out.
		steps = append(steps, pipeline.Step{Name: "handover", Stage: handoverStage(d.Desk, d.OpenTickets), Timeout: 2 * time.Second, FailClosed: true,
			Skip: func(t *pipeline.Turn) bool { return t.NewConversation || t.Resumed }})
	}
	if d.Ratings != nil {
		// a rating is answered with thanks, not by the bot
		steps = append(steps, pipeline.Step{Name: "rating", Stage: ratingStage(d.Ratings), Timeout: 2 * time.Second,
			Skip: func(t *pipeline.Turn) bool { return t.WithAgent || t.Resumed }})
	}
	withAgent := func(t *pipeline.Turn) bool { return t.WithAgent || t.Rated || t.Resumed }
	if d.Understander != nil {
		steps = append(steps, pipeline.Step{Name: "understand", Stage: understandStage(d.Understander), Timeout: 2 * time.Second, Skip: withAgent})
	}
	if d.Orders != nil {
		// the connector's own timeout and retries bound the lookup; this bounds them all
		steps = append(steps, pipeline.Step{Name: "orders", Stage: orderStage(d.Orders), Timeout: 10 * time.Second,
			Skip: func(t *pipeline.Turn) bool { return withAgent(t) || t.WantsHuman }})
	}
	if d.Answerer != nil {
		steps = append(steps, pipeline.Step{Name: "respond", Stage: respondStage(d.Answerer, d.Escalation), Timeout: 5 * time.Second,
			Skip: func(t *pipeline.Turn) bool { return withAgent(t) || t.ToolAnswered || t.ToolFailure != "" }})
	}
	// The reply is logged with the turn's outcome, in one transaction, by whoever
	// answers the turn (RecordAnswer).
	return append(steps, pipeline.Step{Name: "escalate", Stage: escalateStage(d.Desk, d.OpenTickets, d.Escalation), Timeout: 5 * time.Second,
		FailClosed: true, Skip: withAgent})
}

// Pipelines builds the ingress and processing pipelines.
func (d Deps) Pipelines(m *pipeline.Metrics, log *slog.Logger) (ingress, process *pipeline.Pipeline) {
	return pipeline.New(m, log, d.IngressSteps()...).SetLevels(failLevel), pipeline.New(m, log, d.ProcessSteps()...).SetLevels(failLevel)
}

// Dry is the whole flow as one pipeline that stores nothing, for `switchboard ask`: the
// steps serve runs (speech and vision when configured, redaction, understanding,
// retrieval, the escalation decision) without persistence, handover or a ticket.
func (d Deps) Dry(m *pipeline.Metrics, log *slog.Logger) *pipeline.Pipeline {
	d.Inbox, d.OpenTickets, d.Desk = nil, nil, nil
	return pipeline.New(m, log, append(d.IngressSteps(), d.ProcessSteps()...)...).SetLevels(failLevel)
}
