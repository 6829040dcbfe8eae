package pipeline

import (
	"encoding/json"
	"log/slog"
	"time"
)

// PartKind is the kind of one message part.
type PartKind string

// The part kinds a channel can deliver.
const (
	PartText  PartKind = "text"
	PartAudio PartKind = "audio"
	PartImage PartKind = "image"
	// PartVideo is a video note or clip: its sampled frames are labelled like photos
	// and its sound transcribed like a voice note (gateway/flow's video stage).
	PartVideo PartKind = "video"
)

// Part is one piece of a customer message. Raw text and media stay in
// memory; only the redacted text is ever stored, logged or sent on.
type Part struct {
	Kind PartKind
	Text string // for text parts: the raw text
	Data []byte // for audio, image and video parts, when the channel delivered the bytes
	MIME string
	Ref  string // the channel's file reference, when the bytes must be fetched
}

// Label is an image label with its score.
type Label struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
}

// Secret is an original value behind a placeholder of the redacted text.
type Secret struct {
	Placeholder, Kind, Value string
}

// Citation points an answer at the knowledge-base passage it came from.
type Citation struct {
	ChunkID string  `json:"chunk_id"`
	Source  string  `json:"source"`
	Title   string  `json:"title"`
	Snippet string  `json:"snippet"`
	Score   float64 `json:"score"`
}

// Turn is one customer message on its way through the pipeline. Each stage
// writes only its own fields.
type Turn struct {
	// Set by the channel adapter.
	Channel          string
	ChannelMessageID string // idempotency key from the channel
	// Region is the customer's region (ISO 3166-1 alpha-2) when the channel knows it:
	// redaction reads a phone number written without a country code in its notation
	// first.
	Region         string
	ConversationID string // empty: the persist stage continues Thread's or opens one
	// Thread is the channel's conversation thread (a Telegram chat, a Slack channel …):
	// without a ConversationID, a message continues the customer's live conversation on
	// it (see tickets.Inbound.Thread). Empty: every message names its conversation or
	// opens a new one (REST, web chat).
	Thread       string
	CustomerRef  string // pseudonymous customer id
	CustomerName string
	Parts        []Part
	ReceivedAt   time.Time
	ReplyTo      json.RawMessage // the channel's address for answers
	// Lease > 0: the receiver answers the turn itself (the REST channel);
	// the durable queue's workers take it over only if it runs out.
	Lease time.Duration
	// Attempt is the queue attempt answering a stored turn (1 for the receiver's own);
	// it fences what the answer writes.
	Attempt int

	// asr and vision. DeferredAudio are voice notes too long to transcribe while the
	// channel waits: persist stashes them (encrypted) for a queue worker, and the stored
	// turn says so (VoicePending) until the deferred speech step transcribed them.
	Transcript    string
	DeferredAudio []Part
	VoicePending  bool
	Labels        []Label
	Categories    []string // support categories the photos' labels map to

	// redact: the only text later stages see. Secrets hold the originals
	// behind the placeholders, in memory only, for the encrypted vault.
	Text       string
	Redactions int
	Secrets    []Secret

	// persist.
	CustomerID string
	MessageID  int64
	Duplicate  bool // the channel redelivered a message already processed
	// NewConversation: the turn opened its conversation (no ticket can
	// belong to it yet).
	NewConversation bool
	// StoredOutcome is a duplicate's stored outcome (empty while the first delivery is
	// still being answered), so a redelivery costs one store call.
	StoredOutcome json.RawMessage

	// handover: the conversation already has a ticket in human hands (assigned to or
	// pending with an agent), so the bot stays out of it: the message is the agent's.
	WithAgent bool
	// resume: an earlier attempt of this turn escalated it (TicketID) and then failed;
	// this attempt only repeats the handover reply, whatever became of the ticket.
	Resumed bool
	// rating: the message rated the customer's resolved ticket; Reply thanks them.
	Rated bool

	// video: the labels of the videos' frames (photo labels stay in Labels), and how
	// many videos were read.
	VideoLabels []Label
	VideosRead  int

	// understand.
	Language         string
	Intent           string
	IntentConfidence float64
	WantsHuman       bool
	Frustrated       bool

	// tools: a tool (the order lookup) answered the turn (ToolAnswered), or failed and
	// the turn escalates with what failed (ToolFailure, no personal data).
	ToolAnswered bool
	ToolFailure  string

	// retrieve and respond.
	Reply      string
	Citations  []Citation
	Confidence float64

	// escalate.
	Escalated bool
	TicketID  string

	// Set by the pipeline.
	Degraded []string // stages that failed open
	Timings  map[string]time.Duration
}

// RawText joins the text parts and the transcript: the input of redaction.
func (t *Turn) RawText() string {
	s := ""
	for _, p := range t.Parts {
		if p.Kind == PartText && p.Text != "" {
			if s != "" {
				s += "\n"
			}
			s += p.Text
		}
	}
	if t.Transcript != "" {
		if s != "" {
			s += "\n"
		}
		s += t.Transcript
	}
	return s
}

// LogValue logs only what is safe: never the raw parts or transcript.
func (t *Turn) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("channel", t.Channel),
		slog.String("conversation", t.ConversationID),
		slog.Int("parts", len(t.Parts)),
		slog.Int("redactions", t.Redactions),
		slog.String("intent", t.Intent),
		slog.Bool("escalated", t.Escalated),
		slog.Any("degraded", t.Degraded),
	)
}
