package tickets

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,62}$`)

func normalizeSkills(skills []string) []string {
	out := make([]string, 0, len(skills))
	for _, s := range skills {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// PutSkillGroup creates or replaces a skill group, its calendar with it (none
// given: the group has none); the change and its audit event commit together.
// New tickets, and tickets transferred or re-prioritised later, count their SLA
// deadlines in the calendar's business time.
func (s *Directory) PutSkillGroup(ctx context.Context, actor string, g SkillGroup) (SkillGroup, error) {
	if !slugRe.MatchString(g.ID) || strings.Contains(g.ID, ".") {
		return SkillGroup{}, fmt.Errorf("skill group id %q: lower-case letters, digits, - and _: %w", g.ID, ErrInvalid)
	}
	if g.Name == "" {
		g.Name = g.ID
	}
	g.Skills = normalizeSkills(g.Skills)
	if g.Calendar != nil {
		if err := g.Calendar.normalize(); err != nil {
			return SkillGroup{}, fmt.Errorf("skill group %s: %w", g.ID, err)
		}
	}
	err := s.store.Audited(ctx, AuditRecord{Actor: actor, Action: "skill_group.put", Target: g.ID, Detail: g},
		func(tx pgx.Tx) error { return putSkillGroup(ctx, tx, g) })
	if err != nil {
		return SkillGroup{}, err
	}
	// Waiting tickets may now match this group: rebuild the queues.
	s.invalidateRouting(ctx, "")
	return g, nil
}

// PutAgent creates or updates an agent (audited with the change) and tells the router
// about group and capacity changes. It returns the agent as it is after the tickets a
// raised capacity pulled.
func (s *Directory) PutAgent(ctx context.Context, actor string, a Agent) (Agent, error) {
	if !slugRe.MatchString(a.ID) {
		return Agent{}, fmt.Errorf("agent id %q: lower-case letters, digits, '.', '-' and '_': %w", a.ID, ErrInvalid)
	}
	if a.Capacity < 0 || a.Capacity > 100 {
		return Agent{}, fmt.Errorf("agent capacity %d: want 0 to 100: %w", a.Capacity, ErrInvalid)
	}
	if a.MaxCapacity != 0 && (a.MaxCapacity < a.Capacity || a.MaxCapacity > 100) {
		return Agent{}, fmt.Errorf("agent max_capacity %d: want capacity (%d) to 100, or 0 for the capacity: %w", a.MaxCapacity, a.Capacity, ErrInvalid)
	}
	if a.Name == "" {
		a.Name = a.ID
	}
	a.Skills = normalizeSkills(a.Skills)
	a.Groups = normalizeSkills(a.Groups)
	rec := AuditRecord{Actor: actor, Action: "agent.put", Target: a.ID, Detail: map[string]any{"groups": a.Groups, "capacity": a.Capacity,
		"max_capacity": max(a.MaxCapacity, a.Capacity)}}
	if err := s.store.Audited(ctx, rec, func(tx pgx.Tx) error { return putAgent(ctx, tx, a) }); err != nil {
		return Agent{}, err
	}
	stored, err := s.store.GetAgent(ctx, a.ID)
	if err != nil {
		return Agent{}, err
	}
	if err := s.syncAgent(ctx, stored); err != nil {
		return stored, err
	}
	return s.store.GetAgent(ctx, a.ID)
}

// SetAgentStatus sets an agent's status and (capacity ≥ 0) capacity as a
// supervisor: any capacity up to 100, raising the agent's maximum with it.
// Going online pulls waiting tickets into the free slots; the agent is
// returned as it is after them. Online or away counts as a heartbeat, so an
// agent set online without a console or heartbeat goes offline after the
// presence TTL; offline forgets the presence. It is not audited (the system's
// own changes); people's changes go through SetAgentStatusBy and SetOwnStatus.
func (s *Directory) SetAgentStatus(ctx context.Context, agentID string, status AgentStatus, capacity int) (Agent, error) {
	return s.setStatus(ctx, nil, agentID, status, capacity, false)
}

// SetAgentStatusBy is SetAgentStatus by actor (a supervisor), audited as
// agent.status in the same transaction as the change.
func (s *Directory) SetAgentStatusBy(ctx context.Context, actor, agentID string, status AgentStatus, capacity int) (Agent, error) {
	return s.setStatus(ctx, statusAudit(actor, agentID, status, capacity), agentID, status, capacity, false)
}

// SetOwnStatus is SetAgentStatusBy by the agent: the capacity may go up to the
// maximum the supervisor set (ErrForbidden above it).
func (s *Directory) SetOwnStatus(ctx context.Context, agentID string, status AgentStatus, capacity int) (Agent, error) {
	return s.setStatus(ctx, statusAudit(agentID, agentID, status, capacity), agentID, status, capacity, true)
}

func statusAudit(actor, agentID string, status AgentStatus, capacity int) *AuditRecord {
	detail := map[string]any{"status": status}
	if capacity >= 0 {
		detail["capacity"] = capacity
	}
	return &AuditRecord{Actor: actor, Action: "agent.status", Target: agentID, Detail: detail}
}

func (s *Directory) setStatus(ctx context.Context, rec *AuditRecord, agentID string, status AgentStatus, capacity int, byAgent bool) (Agent, error) {
	if !status.Valid() {
		return Agent{}, fmt.Errorf("status %q: want online, away or offline: %w", status, ErrInvalid)
	}
	if capacity > 100 {
		return Agent{}, fmt.Errorf("capacity %d: want 0 to 100: %w", capacity, ErrInvalid)
	}
	// Presence before PostgreSQL: the sweeper reads PostgreSQL first (SweepPresence).
	if status != AgentOffline {
		if err := s.KeepPresent(ctx, agentID); err != nil {
			return Agent{}, err
		}
	}
	write := func(tx pgx.Tx) error { return setAgentStatus(ctx, tx, agentID, status, capacity, byAgent) }
	var err error
	if rec == nil {
		err = pgx.BeginFunc(ctx, s.store.Pool(), write)
	} else {
		err = s.store.Audited(ctx, *rec, write)
	}
	if err != nil {
		return Agent{}, err
	}
	a, err := s.store.GetAgent(ctx, agentID)
	if err != nil {
		return Agent{}, err
	}
	if status == AgentOffline {
		if err := s.Router.DropPresence(ctx, agentID); err != nil {
			return a, fmt.Errorf("presence of %s: %w", agentID, err)
		}
	}
	if err := s.syncAgent(ctx, a); err != nil {
		return a, err
	}
	return s.store.GetAgent(ctx, agentID)
}

func (s *serviceCore) syncAgent(ctx context.Context, a Agent) error {
	pulled, err := s.Router.SetAgent(ctx, a.ID, a.Status, a.Capacity, a.Groups)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	s.applyPulled(ctx, pulled)
	return nil
}

// PutSLAPolicy stores a policy (audited with the change); new tickets use it.
func (s *Directory) PutSLAPolicy(ctx context.Context, actor string, p SLAPolicy) error {
	return s.store.Audited(ctx, AuditRecord{Actor: actor, Action: "sla_policy.put", Target: string(p.Priority), Detail: p},
		func(tx pgx.Tx) error { return putSLAPolicy(ctx, tx, p) })
}

// PutWeights validates and stores routing weights, audited with the change, and
// applies them on every instance (through the event channel, sent on commit).
func (s *Directory) PutWeights(ctx context.Context, actor string, w Weights) error {
	if w.VIP < 0 || w.Skill < 0 || w.Load < 0 || w.Wait < 0 || w.VIP+w.Skill+w.Load+w.Wait <= 0 {
		return fmt.Errorf("weights must be ≥ 0 with a positive sum: %w", ErrInvalid)
	}
	err := s.store.Audited(ctx, AuditRecord{Actor: actor, Action: "routing.weights", Detail: w}, func(tx pgx.Tx) error {
		if err := putRoutingWeights(ctx, tx, w); err != nil {
			return err
		}
		return notify(ctx, tx, Event{Type: "routing.weights"})
	})
	if err != nil {
		return err
	}
	s.Router.SetWeights(w)
	return nil
}

// LoadWeights applies the stored weights (if any) to the router.
func (s *Directory) LoadWeights(ctx context.Context) error {
	w, ok, err := s.store.RoutingWeights(ctx)
	if err == nil && ok {
		s.Router.SetWeights(w)
	}
	return err
}

// Queue is an agent's work list: tickets they hold, then tickets waiting in
// their groups.
type Queue struct {
	Mine    []Ticket       `json:"mine"`
	Waiting []QueuedTicket `json:"waiting"`
}

// QueuedTicket is a waiting ticket as one agent sees it in their queue.
type QueuedTicket struct {
	Ticket
	// Claimable: a claim by this agent would succeed now (the ticket waits in
	// one of their groups and they are online with room for a claim, which may
	// go up to the claim overflow beyond their capacity).
	Claimable bool `json:"claimable"`
}

// AgentQueue returns the agent's queue.
func (s *Service) AgentQueue(ctx context.Context, agentID string) (Queue, error) {
	a, err := s.store.GetAgent(ctx, agentID)
	if err != nil {
		return Queue{}, err
	}
	q := Queue{Mine: []Ticket{}}
	if q.Mine, err = s.store.ActiveTickets(ctx, agentID); err != nil {
		return Queue{}, err
	}
	groups, err := s.store.SkillGroups(ctx)
	if err != nil {
		return Queue{}, err
	}
	var skills []string
	for _, g := range groups {
		if slices.Contains(a.Groups, g.ID) {
			skills = append(skills, g.Skills...)
		}
	}
	open, err := s.store.OpenForGroups(ctx, a.Groups, skills, 200)
	if err != nil {
		return Queue{}, err
	}
	pols, err := s.store.SLAPolicies(ctx)
	if err != nil {
		return Queue{}, err
	}
	slices.SortStableFunc(open, func(x, y Ticket) int {
		return queueDeadline(pols, x).Compare(queueDeadline(pols, y))
	})
	if q.Waiting, err = s.markClaimable(ctx, agentID, open); err != nil {
		return Queue{}, err
	}
	return q, nil
}

// markClaimable asks the router which of the waiting tickets agentID could claim now.
func (s *Service) markClaimable(ctx context.Context, agentID string, open []Ticket) ([]QueuedTicket, error) {
	ids := make([]string, len(open))
	for i, t := range open {
		ids[i] = t.ID
	}
	claimable, err := s.Router.Claimable(ctx, agentID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]QueuedTicket, len(open))
	for i, t := range open {
		out[i] = QueuedTicket{Ticket: t, Claimable: claimable[i]}
	}
	return out, nil
}

// GroupQueue is a supervisor's view of one skill group. Tickets count in
// the group they are filed under (their best-matching group, or where they
// were transferred or routed).
type GroupQueue struct {
	GroupID string `json:"group_id"`
	// WaitingTickets are open tickets waiting for an agent.
	WaitingTickets int `json:"waiting_tickets"`
	// OldestWaitSeconds is how long the longest-waiting of them has been
	// queued (since created, reopened or transferred); 0 when none waits.
	OldestWaitSeconds int64 `json:"oldest_wait_seconds"`
	// AssignedTickets are held by an agent (assigned, or pending on the customer).
	AssignedTickets int `json:"assigned_tickets"`
	// Backlog is every unresolved ticket: waiting plus assigned.
	Backlog int `json:"backlog"`
	// AtRisk are unresolved tickets with less than the at-risk fraction of an
	// SLA window left (not yet breached).
	AtRisk int `json:"at_risk"`
	// Load and Capacity sum the slots taken and offered by the group's online agents.
	Load     int `json:"load"`
	Capacity int `json:"capacity"`
}

// Queues returns the queue figures of every skill group.
func (s *Service) Queues(ctx context.Context, atRiskFraction float64) ([]GroupQueue, error) {
	groups, err := s.store.SkillGroups(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	stats, err := s.store.GroupSLAStats(ctx, now, atRiskFraction)
	if err != nil {
		return nil, err
	}
	figs, err := s.store.queueFigures(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]GroupQueue, 0, len(groups))
	for _, g := range groups {
		q := GroupQueue{GroupID: g.ID}
		if i := slices.IndexFunc(stats, func(x GroupSLA) bool { return x.GroupID == g.ID }); i >= 0 {
			q.Backlog, q.AtRisk = stats[i].Backlog, stats[i].AtRisk
		}
		if f, ok := figs[g.ID]; ok {
			q.WaitingTickets, q.AssignedTickets = f.waiting, f.assigned
			if f.waiting > 0 {
				q.OldestWaitSeconds = max(int64(now.Sub(f.oldestQueued)/time.Second), 0)
			}
		}
		if q.Load, q.Capacity, err = s.Router.GroupLoad(ctx, g.ID); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// Snapshot is the router's rebuild source: everything from PostgreSQL.
func (s *serviceCore) Snapshot(ctx context.Context) (RouterSnapshot, error) {
	groups, err := s.store.SkillGroups(ctx)
	if err != nil {
		return RouterSnapshot{}, err
	}
	pols, err := s.store.SLAPolicies(ctx)
	if err != nil {
		return RouterSnapshot{}, err
	}
	return s.store.RouterSnapshot(ctx, func(t Ticket) RouterWaiting {
		cands := matchGroups(groups, t.Skills)
		if t.GroupID != "" && !slices.ContainsFunc(cands, func(c GroupCandidate) bool { return c.ID == t.GroupID }) {
			cands = []GroupCandidate{{ID: t.GroupID, SkillMatch: 1}} // transferred there
		}
		return RouterWaiting{TicketID: t.ID, Groups: cands, VIPTier: t.VIPTier, CreatedAt: t.CreatedAt,
			Deadline: queueDeadline(pols, t)}
	})
}

// Subscribe registers fn for every ticket event from any instance and
// returns a function that removes it. fn must not block.
func (s *Service) Subscribe(fn func(Event)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.next
	s.next++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.subs, id)
	}
}

// RunEvents listens for events from all instances until ctx ends:
// invalidates cached tickets, reloads routing weights and fans out to
// subscribers. ready (may be nil) is called once listening starts.
func (s *Service) RunEvents(ctx context.Context, ready func()) {
	var once sync.Once
	s.store.Listen(ctx, s.Log, s.handleEvent, func(reconnected bool) {
		if ready != nil {
			once.Do(ready)
		}
		if reconnected {
			s.Log.Warn("ticket events may have been missed while reconnecting; cached tickets expire within the cache TTL")
		}
	})
}

func (s *Service) handleEvent(ctx context.Context, ev Event) {
	switch {
	case ev.Type == "ticket.erased":
		// A person was erased (perhaps by another process): drop the ticket here too.
		s.Maintenance.forgetTicket(ctx, erasedTicket{ID: ev.TicketID, Assignee: ev.AssigneeID, Status: ev.Status})
	case ev.Type == EventTyping: // changes nothing stored
	case ev.Type == "routing.weights" || ev.Type == EventResync:
		if err := s.Directory.LoadWeights(ctx); err != nil {
			s.Log.Error("reload routing weights", "err", err)
		}
	case ev.TicketID != "":
		if err := s.Cache.Invalidate(ctx, ev.TicketID, ev.Version); err != nil {
			s.recovery.lost() // the reconciler writes it once Redis answers
			s.Log.Warn("invalidate ticket cache", "err", err)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.subs {
		_ = s.store.panics.Run("events.subscriber", func() { fn(ev) }) // one bad subscriber does not starve the others
	}
}
