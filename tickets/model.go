package tickets

import "time"

// Status is a ticket's place in its lifecycle:
// open → assigned → pending → resolved → closed, and reopen back to open.
type Status string

const (
	StatusOpen     Status = "open"     // waiting for an agent (routed or queued)
	StatusAssigned Status = "assigned" // an agent holds a capacity slot for it
	StatusPending  Status = "pending"  // an agent replied; waiting on the customer
	StatusResolved Status = "resolved"
	StatusClosed   Status = "closed"
)

// Active reports whether a ticket in this status occupies an agent's capacity slot.
func (s Status) Active() bool { return s == StatusAssigned || s == StatusPending }

// Priority orders tickets; SLA policies are defined per priority.
type Priority string

const (
	PriorityUrgent Priority = "urgent"
	PriorityHigh   Priority = "high"
	PriorityNormal Priority = "normal"
	PriorityLow    Priority = "low"
)

// Rank is 0 for the most urgent priority; unknown priorities rank as normal.
func (p Priority) Rank() int {
	switch p {
	case PriorityUrgent:
		return 0
	case PriorityHigh:
		return 1
	case PriorityLow:
		return 3
	default:
		return 2
	}
}

// Valid reports whether p is one of the defined priorities.
func (p Priority) Valid() bool {
	switch p {
	case PriorityUrgent, PriorityHigh, PriorityNormal, PriorityLow:
		return true
	}
	return false
}

// AgentStatus is an agent's presence.
type AgentStatus string

const (
	AgentOnline  AgentStatus = "online"
	AgentAway    AgentStatus = "away"
	AgentOffline AgentStatus = "offline"
)

// Valid reports whether s is a defined presence.
func (s AgentStatus) Valid() bool {
	return s == AgentOnline || s == AgentAway || s == AgentOffline
}

// Customer is the pseudonymous customer record. Email and Phone are held
// in plaintext only in memory; the store encrypts them at rest and keeps
// an HMAC blind index for exact lookup.
type Customer struct {
	ID             string    `json:"id"`
	PseudonymousID string    `json:"pseudonymous_id"`
	DisplayName    string    `json:"display_name"`
	VIPTier        int       `json:"vip_tier"`
	Email          string    `json:"email,omitempty"`
	Phone          string    `json:"phone,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	// CRM is what the company's CRM said of the customer (crm.go), when it was asked.
	CRM *CRMRecord `json:"crm,omitempty"`
}

// Ticket is an escalated conversation waiting for or handled by a human agent.
type Ticket struct {
	ID                    string     `json:"id"`
	CustomerID            string     `json:"customer_id"`
	CustomerName          string     `json:"customer_name"`
	ConversationID        string     `json:"conversation_id"`
	Subject               string     `json:"subject"`
	Status                Status     `json:"status"`
	Priority              Priority   `json:"priority"`
	Skills                []string   `json:"skills"`
	GroupID               string     `json:"group_id,omitempty"`
	AssigneeID            string     `json:"assignee_id,omitempty"`
	VIPTier               int        `json:"vip_tier"`
	Version               int64      `json:"version"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
	FirstResponseDue      *time.Time `json:"first_response_due,omitempty"`
	ResolutionDue         *time.Time `json:"resolution_due,omitempty"`
	ClaimedAt             *time.Time `json:"claimed_at,omitempty"`
	FirstResponseAt       *time.Time `json:"first_response_at,omitempty"`
	ResolvedAt            *time.Time `json:"resolved_at,omitempty"`
	ClosedAt              *time.Time `json:"closed_at,omitempty"`
	FirstResponseBreached bool       `json:"first_response_breached"`
	ResolutionBreached    bool       `json:"resolution_breached"`
	Tags                  []string   `json:"tags"`
	// Handoff is the bot's summary when it escalated the conversation (nil for a
	// ticket opened otherwise).
	Handoff *Handoff `json:"handoff,omitempty"`
	// AfterHours is set on the ticket CreateTicket returns when it waits while its
	// skill group is closed; it is not stored.
	AfterHours *AfterHours `json:"after_hours,omitempty"`
	// MergedInto is the ticket this one was merged into as a duplicate (it is then
	// closed; see Merge).
	MergedInto string `json:"merged_into,omitempty"`
	// OriginMessageID is the customer message (messages.id) whose turn escalated into
	// the ticket (0: opened otherwise); see NewTicket.OriginMessageID.
	OriginMessageID int64 `json:"-"`
}

// Handoff is what an agent reads first on an escalated ticket: why the bot handed the
// conversation over, what the customer asked, what the bot would have answered and from
// which sources, and the customer's mood. Extracted from the turn that escalated; text
// is redacted.
type Handoff struct {
	Reason     string   `json:"reason"` // HandoffAskedForHuman, HandoffIntent, HandoffNoAnswer, HandoffLowConfidence or HandoffToolFailed
	Asked      string   `json:"asked"`
	Intent     string   `json:"intent,omitempty"`
	Language   string   `json:"language,omitempty"`
	BotAnswer  string   `json:"bot_answer,omitempty"` // the best answer the bot had, not confident enough
	Confidence float64  `json:"confidence"`
	Sources    []string `json:"sources,omitempty"`
	Frustrated bool     `json:"frustrated"`
	// ToolFailure is what a bot's tool could not do (HandoffToolFailed): "order 1234567:
	// the ERP did not answer in time".
	ToolFailure string `json:"tool_failure,omitempty"`
	// Summary is the language model's briefing of the conversation, written when an
	// agent first opens the ticket and a model is configured (SetHandoffSummary).
	Summary string `json:"summary,omitempty"`
}

// Why the bot escalated.
const (
	HandoffAskedForHuman = "asked_for_human"
	HandoffIntent        = "intent"
	HandoffNoAnswer      = "no_answer"
	HandoffLowConfidence = "low_confidence"
	// HandoffToolFailed: a tool of the bot's (the ERP's order lookup) failed.
	HandoffToolFailed = "tool_failed"
)

// Message is one redacted line of a conversation.
type Message struct {
	ID             int64     `json:"id"`
	ConversationID string    `json:"conversation_id"`
	Author         string    `json:"author"` // "customer", "bot", "agent:<id>", "system"
	Text           string    `json:"text"`   // redacted text only
	CreatedAt      time.Time `json:"created_at"`
	// Delivery is how an agent's reply to a push channel fares (ticket transcripts only).
	Delivery *Delivery `json:"delivery,omitempty"`
	// Attachment is the file or image an agent sent with this message (attachments.go).
	Attachment *Attachment `json:"attachment,omitempty"`
}

// Agent is a human agent and their routing capacity.
type Agent struct {
	ID       string      `json:"id"`
	Name     string      `json:"name"`
	Skills   []string    `json:"skills"`
	Groups   []string    `json:"groups"`
	Capacity int         `json:"capacity"`
	Status   AgentStatus `json:"status"`
	Load     int         `json:"load"`

	// MaxCapacity is the most an agent may raise their own capacity to; supervisors
	// set it (0 in a PUT: the capacity given).
	MaxCapacity int `json:"max_capacity"`
}

// SkillGroup is a team of agents that serves tickets needing its skills.
type SkillGroup struct {
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Skills []string `json:"skills"`
	// Calendar is when the group works (nil: no calendar of its own; the SLA
	// policies' hours apply and the group never counts as closed).
	Calendar *Calendar `json:"calendar,omitempty"`
}

// Weights are the routing score weights of docs/architecture.md ("Routing").
type Weights struct {
	VIP   float64 `json:"vip" yaml:"vip"`
	Skill float64 `json:"skill" yaml:"skill"`
	Load  float64 `json:"load" yaml:"load"`
	Wait  float64 `json:"wait" yaml:"wait"`
}

// DefaultWeights favour skill match, then free capacity, then VIP and aging.
func DefaultWeights() Weights { return Weights{VIP: 0.2, Skill: 0.4, Load: 0.3, Wait: 0.1} }

// Breakdown explains one routing decision: each weighted term and the total.
type Breakdown struct {
	VIP        float64 `json:"vip"`
	SkillMatch float64 `json:"skill_match"`
	Load       float64 `json:"load"`
	Wait       float64 `json:"wait"`
	Total      float64 `json:"total"`
	GroupLoad  float64 `json:"group_load"`
	Weights    Weights `json:"weights"`
}

// Assignment records that a ticket went to an agent, and why.
type Assignment struct {
	TicketID  string    `json:"ticket_id"`
	AgentID   string    `json:"agent_id"`
	GroupID   string    `json:"group_id"`
	Reason    string    `json:"reason"` // route, pull, claim, transfer
	Score     Breakdown `json:"score"`
	CreatedAt time.Time `json:"created_at"`
}
