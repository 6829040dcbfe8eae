package tickets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Redactor removes PII from free text before the ticket core stores it.
// It fails closed: on error nothing is stored.
type Redactor interface {
	RedactText(ctx context.Context, text string) (string, error)
}

// Actor is who performs an operation. Agents act on their own tickets;
// supervisors (and admins) on any.
type Actor struct {
	ID         string
	Supervisor bool
}

// ServiceOptions wires a Service (beside its Store, which NewService takes).
type ServiceOptions struct {
	Router   *RedisRouter
	Cache    *TicketCache
	Redactor Redactor
	// Inspector, when set, scores every agent reply for quality inspection (quality.go).
	Inspector ReplyInspector
	// Sentiment, when set, reads the customer's mood for a resolved conversation's
	// inspection (quality_conversation.go).
	Sentiment SentimentScorer
	Metrics   *Metrics
	Log       *slog.Logger
	Now       func() time.Time
	// PresenceTTL is how long a heartbeat keeps an agent present (default
	// DefaultPresenceTTL); see presence.go.
	PresenceTTL time.Duration
	// ReconcileSettle is how long Reconcile waits before it believes a difference
	// between Redis and PostgreSQL (default 2s); see reconcile.go.
	ReconcileSettle time.Duration
}

// Service is the ticket core used by the agent API and the bot pipeline:
// it keeps PostgreSQL (the source of truth), the Redis router and the
// ticket cache consistent. It serves the ticket lifecycle (open, claim,
// reply, resolve, close, reopen, transfer), what agents and supervisors see,
// and the ticket events; its embedded parts serve the rest: Directory
// (agents and their presence, skill groups, SLA policies, routing weights)
// and Maintenance (erasure, reconciliation of the routing state). All of
// them share one core (the store, the options and the routing steps), and
// every part's operations are also the Service's.
type Service struct {
	*serviceCore
	*Directory
	*Maintenance
	mu   sync.RWMutex
	subs map[int]func(Event)
	next int
}

// serviceCore is what every part of the Service shares: the store, the options and
// the routing steps several parts take (choosing candidate groups, routing a ticket
// and recording its assignment, recording what a freed slot pulled, telling the
// router about an agent, invalidating the routing state and cached tickets, and the
// router's rebuild snapshot).
type serviceCore struct {
	store *Store // PostgreSQL; callers reach it only through the Service's operations
	ServiceOptions
	recovery *routingRecovery // routing steps that could not reach Redis (reconcile.go)
}

// Directory is the Service's part for the directory: agents (their records, statuses
// and presence), skill groups, SLA policies and routing weights. A person's change is
// audited in the change's transaction.
type Directory struct{ *serviceCore }

// Maintenance is the Service's part for upkeep: erasing a person everywhere, and
// reconciling the router's Redis state with PostgreSQL.
type Maintenance struct{ *serviceCore }

// NewService returns a Service over store; Now defaults to time.Now.
func NewService(store *Store, o ServiceOptions) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.PresenceTTL <= 0 {
		o.PresenceTTL = DefaultPresenceTTL
	}
	core := &serviceCore{store: store, ServiceOptions: o, recovery: newRoutingRecovery()}
	return &Service{serviceCore: core, Directory: &Directory{core}, Maintenance: &Maintenance{core}, subs: map[int]func(Event){}}
}

// NewTicket is the input of CreateTicket.
type NewTicket struct {
	Customer       Customer `json:"customer"`
	Channel        string   `json:"channel"`
	ConversationID string   `json:"conversation_id"`
	Subject        string   `json:"subject"`
	Message        string   `json:"message"`
	Priority       Priority `json:"priority"`
	Skills         []string `json:"skills"`
	// Handoff is the bot's summary (the bot pipeline sets it; API callers cannot).
	Handoff *Handoff `json:"-"`
	// DeferFlush: the caller commits synchronously after CreateTicket
	// returns and before it tells anyone about the ticket (the bot pipeline
	// records its reply), so the ticket need not wait for its own WAL flush:
	// that later commit flushes it too. API callers leave it false.
	DeferFlush bool `json:"-"`
	// AnswersAfterHours: the caller tells the customer itself when the ticket waits
	// while its group is closed (the bot flow, in its reply, from the returned
	// ticket's AfterHours); otherwise the ticket core writes the notice into the
	// conversation.
	AnswersAfterHours bool `json:"-"`
	// OriginMessageID is the customer message (messages.id) whose turn escalates (the
	// bot pipeline sets it; API callers cannot). A turn opens at most one ticket: when
	// an earlier attempt of the turn already stored one, CreateTicket returns that
	// ticket, whatever its status, and neither audits nor routes it again.
	OriginMessageID int64 `json:"-"`
}

// Input limits: anything longer is rejected as invalid, never truncated.
const (
	maxTextLen  = 16 << 10
	maxFieldLen = 200
	maxSkills   = 20
)

func (n *NewTicket) normalize() error {
	if n.Priority == "" {
		n.Priority = PriorityNormal
	}
	if !n.Priority.Valid() {
		return fmt.Errorf("priority %q: want urgent, high, normal or low: %w", n.Priority, ErrInvalid)
	}
	if n.Channel == "" {
		n.Channel = "api"
	}
	c := n.Customer
	if c.VIPTier < 0 || c.VIPTier > 3 {
		return fmt.Errorf("customer.vip_tier %d: want 0 to 3: %w", c.VIPTier, ErrInvalid)
	}
	if strings.TrimSpace(c.PseudonymousID) == "" {
		return fmt.Errorf("customer.pseudonymous_id is required: %w", ErrInvalid)
	}
	for name, v := range map[string]string{"customer.pseudonymous_id": c.PseudonymousID, "customer.display_name": c.DisplayName,
		"customer.email": c.Email, "customer.phone": c.Phone, "channel": n.Channel, "subject": n.Subject} {
		if len(v) > maxFieldLen || !utf8.ValidString(v) {
			return fmt.Errorf("%s: at most %d bytes of UTF-8: %w", name, maxFieldLen, ErrInvalid)
		}
	}
	if len(n.Message) > maxTextLen || !utf8.ValidString(n.Message) {
		return fmt.Errorf("message: at most %d bytes of UTF-8: %w", maxTextLen, ErrInvalid)
	}
	if len(n.Skills) > maxSkills {
		return fmt.Errorf("skills: at most %d: %w", maxSkills, ErrInvalid)
	}
	n.Skills = normalizeSkills(n.Skills)
	for _, sk := range n.Skills {
		if len(sk) > 64 {
			return fmt.Errorf("skill %.20q…: at most 64 bytes: %w", sk, ErrInvalid)
		}
	}
	return nil
}

func (s *Service) redact(ctx context.Context, text string) (string, error) {
	if text == "" {
		return "", nil
	}
	out, err := s.Redactor.RedactText(ctx, text)
	if err != nil {
		return "", fmt.Errorf("redaction failed, nothing stored: %w", err)
	}
	return out, nil
}

// CreateTicket stores a ticket with its first message (redacted), sets its
// SLA deadlines and routes it. The returned assignment is nil when the
// ticket waits in a queue; when it waits while its group is closed, the
// returned ticket's AfterHours says when the group opens and the customer is
// told (see NewTicket.AnswersAfterHours). Only a supervisor may set a
// customer's VIP tier or replace an existing customer's email or phone
// (customerWriteAllowed).
func (s *Service) CreateTicket(ctx context.Context, actor Actor, n NewTicket) (Ticket, *Assignment, error) {
	if err := n.normalize(); err != nil {
		return Ticket{}, nil, err
	}
	subject, err := s.redact(ctx, n.Subject)
	if err != nil {
		return Ticket{}, nil, err
	}
	message, err := s.redact(ctx, n.Message)
	if err != nil {
		return Ticket{}, nil, err
	}
	cust, conv, in, err := s.ticketParty(ctx, actor, n)
	if err != nil {
		return Ticket{}, nil, err
	}
	if message != "" {
		if _, err := s.store.AddMessage(ctx, Message{ConversationID: conv, Author: "customer", Text: message}); err != nil {
			return Ticket{}, nil, err
		}
	}
	t := Ticket{CustomerID: cust.ID, CustomerName: cust.DisplayName, ConversationID: conv, Subject: subject,
		Status: StatusOpen, Priority: n.Priority, Skills: n.Skills, VIPTier: cust.VIPTier, CreatedAt: s.Now(), Handoff: n.Handoff,
		OriginMessageID: n.OriginMessageID}
	cands := matchGroups(in.groups, t.Skills)
	if len(cands) > 0 {
		t.GroupID = cands[0].ID
	}
	if err := setDeadlines(in.policies, in.groups, &t); err != nil {
		return Ticket{}, nil, err
	}
	away, err := afterHours(in.groups, t.GroupID, t.CreatedAt)
	if err != nil {
		return Ticket{}, nil, err
	}
	t, err = s.store.InsertTicket(ctx, t, &AuditEntry{Actor: actor.ID, Action: "ticket.create",
		Detail: map[string]any{"priority": t.Priority}}, n.DeferFlush)
	if errors.Is(err, ErrConflict) && n.OriginMessageID != 0 {
		// Another attempt of the turn may have stored its ticket first; else the
		// conflict is the conversation's open ticket (the caller joins it).
		if earlier, ferr := s.store.TicketForTurn(ctx, n.OriginMessageID); ferr == nil {
			return earlier, nil, nil
		} else if !errors.Is(ferr, ErrNotFound) {
			return Ticket{}, nil, ferr
		}
	}
	if err != nil {
		return Ticket{}, nil, err
	}
	t, a, err := s.routeWith(ctx, t, cands, in.policies, "route")
	if err != nil || a != nil || away == nil {
		return t, a, err // an agent took it at once: nobody is away
	}
	t.AfterHours = away
	if !n.AnswersAfterHours {
		s.noticeAfterHours(ctx, t, message+" "+subject)
	}
	return t, nil, nil
}

// ticketParty reads what a new ticket needs in one round trip and returns
// its customer (written only when new or changed) and its conversation: the
// one named, which must be the customer's, or a new one.
func (s *Service) ticketParty(ctx context.Context, actor Actor, n NewTicket) (Customer, string, ticketInputs, error) {
	in, err := s.store.ticketInputs(ctx, n.Customer.PseudonymousID, n.ConversationID)
	if err != nil {
		if n.ConversationID != "" && errors.Is(err, ErrNotFound) {
			err = fmt.Errorf("conversation_id: %w", err)
		}
		return Customer{}, "", in, err
	}
	if err := customerWriteAllowed(actor, in.customer, n.Customer); err != nil {
		return Customer{}, "", in, err
	}
	cust := Customer{}
	if in.customer != nil && n.Customer.storedIn(*in.customer, actor.Supervisor) {
		cust = *in.customer
	} else if cust, err = s.store.UpsertCustomer(ctx, n.Customer, actor.Supervisor); err != nil {
		return Customer{}, "", in, err
	}
	if n.ConversationID == "" {
		conv, err := s.store.CreateConversation(ctx, cust.ID, n.Channel)
		return cust, conv, in, err
	}
	if in.owner != cust.ID {
		return Customer{}, "", in, fmt.Errorf("conversation %s belongs to another customer: %w", n.ConversationID, ErrInvalid)
	}
	return cust, n.ConversationID, in, nil
}

// setDeadlines sets t's first-response and resolution deadlines: its priority's
// targets from its opening, counted in the business time of the skill group it is
// filed under when that group has a calendar, else in the policy's own hours.
// Every path that sets deadlines (opening, a priority change, a transfer) takes it.
func setDeadlines(pols map[Priority]SLAPolicy, groups []SkillGroup, t *Ticket) error {
	p, ok := pols[t.Priority]
	if !ok {
		return nil
	}
	var cal *Calendar
	if i := slices.IndexFunc(groups, func(g SkillGroup) bool { return g.ID == t.GroupID }); i >= 0 {
		cal = groups[i].Calendar
	}
	fr, res, err := p.DeadlinesIn(cal, t.CreatedAt)
	if err != nil {
		return err
	}
	t.FirstResponseDue, t.ResolutionDue = &fr, &res
	return nil
}

// candidates returns the skill groups eligible for skills, best skill
// match first. With no skills, or no group sharing any, every group is a
// candidate (skill match 1 and 0 respectively).
func (s *serviceCore) candidates(ctx context.Context, skills []string) ([]GroupCandidate, error) {
	groups, err := s.store.SkillGroups(ctx)
	if err != nil {
		return nil, err
	}
	return matchGroups(groups, skills), nil
}

func matchGroups(groups []SkillGroup, skills []string) []GroupCandidate {
	var out, fallback []GroupCandidate
	for _, g := range groups {
		if len(skills) == 0 {
			out = append(out, GroupCandidate{ID: g.ID, SkillMatch: 1})
			continue
		}
		hit := 0
		for _, sk := range skills {
			if slices.Contains(g.Skills, sk) {
				hit++
			}
		}
		if hit > 0 {
			out = append(out, GroupCandidate{ID: g.ID, SkillMatch: float64(hit) / float64(len(skills))})
		}
		fallback = append(fallback, GroupCandidate{ID: g.ID})
	}
	if len(out) == 0 {
		out = fallback
	}
	slices.SortStableFunc(out, func(a, b GroupCandidate) int {
		switch {
		case a.SkillMatch > b.SkillMatch:
			return -1
		case a.SkillMatch < b.SkillMatch:
			return 1
		}
		return 0
	})
	return out
}

// queueDeadline orders waiting tickets: creation time plus the priority's
// first-response target on the wall clock. Business hours decide breaches,
// not order, so tickets that arrive overnight still queue first come,
// first served within a priority.
func queueDeadline(pols map[Priority]SLAPolicy, t Ticket) time.Time {
	minutes := 24 * 60
	if p, ok := pols[t.Priority]; ok {
		minutes = p.FirstResponseMinutes
	}
	return t.CreatedAt.Add(time.Duration(minutes) * time.Minute)
}

// route asks the router for an agent and records the outcome.
func (s *serviceCore) route(ctx context.Context, t Ticket, cands []GroupCandidate, reason string) (Ticket, *Assignment, error) {
	return s.routeWith(ctx, t, cands, nil, reason)
}

// routeWith is route with the SLA policies already read (nil: read them).
func (s *serviceCore) routeWith(ctx context.Context, t Ticket, cands []GroupCandidate, pols map[Priority]SLAPolicy, reason string) (Ticket, *Assignment, error) {
	if len(cands) == 0 {
		s.Log.Warn("no skill group exists; the ticket waits until one is created", "ticket", t.ID)
		return t, nil, nil
	}
	if pols == nil {
		var err error
		if pols, err = s.store.SLAPolicies(ctx); err != nil {
			return t, nil, err
		}
	}
	start := time.Now()
	res, err := s.Router.Route(ctx, RouteRequest{TicketID: t.ID, Groups: cands, VIPTier: t.VIPTier,
		Priority: t.Priority, CreatedAt: t.CreatedAt, Deadline: queueDeadline(pols, t)})
	s.Metrics.RouteSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		s.Metrics.Routed.WithLabelValues("error").Inc()
		// The ticket is open in PostgreSQL; a rebuild queues it.
		s.invalidateRouting(ctx, t.ID)
		if IsUnavailable(err) {
			// Redis is away: the ticket waits in PostgreSQL, and the reconciler
			// routes it as soon as Redis answers again (routingRecovery).
			s.recovery.lost()
			s.Log.Warn("router unavailable; the ticket waits in PostgreSQL until Redis is back", "ticket", t.ID, "err", err)
			return t, nil, nil
		}
		return t, nil, fmt.Errorf("route ticket %s: %w", t.ID, err)
	}
	if !res.Assigned {
		s.Metrics.Routed.WithLabelValues("queued").Inc()
		return t, nil, nil
	}
	s.Metrics.Routed.WithLabelValues("assigned").Inc()
	return s.apply(ctx, res, reason)
}

// errHeldAlready stops apply's update: the ticket is already the agent's.
var errHeldAlready = errors.New("ticket already held by that agent")

// apply records a router assignment in PostgreSQL. An assignment PostgreSQL already
// holds (a ticket pulled again after a rebuild from a snapshot taken while its first
// pull was being recorded, or routed again) is not recorded twice; one of a ticket that
// is no longer open is ErrConflict.
func (s *serviceCore) apply(ctx context.Context, res RouteResult, reason string) (Ticket, *Assignment, error) {
	a := Assignment{TicketID: res.TicketID, AgentID: res.AgentID, GroupID: res.GroupID, Reason: reason, Score: res.Score,
		CreatedAt: s.Now()}
	var held Ticket
	_, t, err := s.store.UpdateTicket(ctx, res.TicketID, func(tx pgx.Tx, t *Ticket) error {
		if t.Status.Active() && t.AssigneeID == res.AgentID {
			held = *t
			return errHeldAlready
		}
		// Only an open ticket takes an assignment: a resolved or closed one (handed out
		// by a routing state older than PostgreSQL, even to the agent who resolved it)
		// stays finished.
		if t.Status != StatusOpen {
			return fmt.Errorf("ticket %s is %s: %w", t.ID, t.Status, ErrConflict)
		}
		t.Status, t.AssigneeID, t.GroupID = StatusAssigned, res.AgentID, res.GroupID
		if reason == "claim" {
			now := s.Now()
			t.ClaimedAt = &now
		}
		if err := InsertAssignment(ctx, tx, a); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, tx, "router", "ticket.assign", t.ID, map[string]any{"agent": res.AgentID, "reason": reason})
	})
	if errors.Is(err, errHeldAlready) {
		return held, &a, nil
	}
	if err != nil {
		// Redis now holds an assignment PostgreSQL does not: have the router
		// rebuild from PostgreSQL, the source of truth, on its next call.
		s.invalidateRouting(ctx, res.TicketID)
		return Ticket{}, nil, err
	}
	s.afterWrite(ctx, t)
	return t, &a, nil
}

// applyPulled records tickets that a freed slot pulled from a queue.
func (s *serviceCore) applyPulled(ctx context.Context, pulled []RouteResult) {
	if len(pulled) == 0 {
		return
	}
	ctx, cancel := detached(ctx)
	defer cancel()
	for _, p := range pulled {
		if _, _, err := s.apply(ctx, p, "pull"); err != nil {
			s.Log.Error("record pulled ticket", "ticket", p.TicketID, "err", err)
		}
	}
}

// invalidateRouting makes the router rebuild from PostgreSQL on its next
// call, after Redis and PostgreSQL may have come apart. When Redis cannot be
// reached to say so, the reconciler is told to rebuild as soon as it can.
func (s *serviceCore) invalidateRouting(ctx context.Context, ticketID string) {
	if err := s.Router.Invalidate(context.WithoutCancel(ctx)); err != nil {
		s.recovery.lost()
		if IsUnavailable(err) {
			s.Log.Warn("routing state not invalidated: Redis unavailable; rebuilt once it answers", "ticket", ticketID, "err", err)
			return
		}
		s.Log.Error("invalidate routing state", "ticket", ticketID, "err", err)
	}
}

// detached is for work that must finish once a write has committed, even
// when the client goes away.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// afterWrite drops cached copies older than t so no reader sees them. When Redis does
// not take that, the reconciler writes it as soon as Redis answers (routingRecovery).
func (s *serviceCore) afterWrite(ctx context.Context, t Ticket) {
	if err := s.Cache.Invalidate(context.WithoutCancel(ctx), t.ID, t.Version); err != nil {
		s.recovery.lost()
		if IsUnavailable(err) {
			s.Log.Warn("ticket cache not invalidated: Redis unavailable; written once it answers", "ticket", t.ID, "err", err)
			return
		}
		s.Log.Error("invalidate ticket cache", "ticket", t.ID, "err", err)
	}
}
