package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
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

// PutSkillGroup creates or updates a skill group.
func (s *Service) PutSkillGroup(ctx context.Context, actor string, g SkillGroup) (SkillGroup, error) {
	if !slugRe.MatchString(g.ID) || strings.Contains(g.ID, ".") {
		return SkillGroup{}, fmt.Errorf("skill group id %q: lower-case letters, digits, - and _: %w", g.ID, ErrInvalid)
	}
	if g.Name == "" {
		g.Name = g.ID
	}
	g.Skills = normalizeSkills(g.Skills)
	if err := s.Store.PutSkillGroup(ctx, g); err != nil {
		return SkillGroup{}, err
	}
	// Waiting tickets may now match this group: rebuild the queues.
	s.invalidateRouting(ctx, "")
	return g, s.Store.AppendAudit(ctx, nil, actor, "skill_group.put", g.ID, g)
}

// PutAgent creates or updates an agent and tells the router about group
// and capacity changes.
func (s *Service) PutAgent(ctx context.Context, actor string, a Agent) (Agent, error) {
	if !slugRe.MatchString(a.ID) {
		return Agent{}, fmt.Errorf("agent id %q: lower-case letters, digits, '.', '-' and '_': %w", a.ID, ErrInvalid)
	}
	if a.Capacity < 0 || a.Capacity > 100 {
		return Agent{}, fmt.Errorf("agent capacity %d: want 0 to 100: %w", a.Capacity, ErrInvalid)
	}
	if a.Name == "" {
		a.Name = a.ID
	}
	a.Skills = normalizeSkills(a.Skills)
	a.Groups = normalizeSkills(a.Groups)
	stored, err := s.Store.PutAgent(ctx, a)
	if err != nil {
		return Agent{}, err
	}
	if err := s.Store.AppendAudit(ctx, nil, actor, "agent.put", a.ID, map[string]any{"groups": a.Groups, "capacity": a.Capacity}); err != nil {
		return Agent{}, err
	}
	return stored, s.syncAgent(ctx, stored)
}

// SetAgentStatus sets an agent's presence and (capacity ≥ 0) capacity;
// going online pulls waiting tickets into the free slots.
func (s *Service) SetAgentStatus(ctx context.Context, agentID string, status AgentStatus, capacity int) (Agent, error) {
	if !status.Valid() {
		return Agent{}, fmt.Errorf("status %q: want online, away or offline: %w", status, ErrInvalid)
	}
	if capacity > 100 {
		return Agent{}, fmt.Errorf("capacity %d: want 0 to 100: %w", capacity, ErrInvalid)
	}
	a, err := s.Store.SetAgentStatus(ctx, agentID, status, capacity)
	if err != nil {
		return Agent{}, err
	}
	if err := s.syncAgent(ctx, a); err != nil {
		return a, err
	}
	return s.Store.GetAgent(ctx, agentID)
}

func (s *Service) syncAgent(ctx context.Context, a Agent) error {
	pulled, err := s.Router.SetAgent(ctx, a.ID, a.Status, a.Capacity, a.Groups)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	s.applyPulled(ctx, pulled)
	return nil
}

// PutSLAPolicy stores a policy; new tickets use it.
func (s *Service) PutSLAPolicy(ctx context.Context, actor string, p SLAPolicy) error {
	if err := s.Store.PutSLAPolicy(ctx, p); err != nil {
		return err
	}
	return s.Store.AppendAudit(ctx, nil, actor, "sla_policy.put", string(p.Priority), p)
}

// PutWeights validates, stores and applies routing weights on every
// instance (through the event channel).
func (s *Service) PutWeights(ctx context.Context, actor string, w Weights) error {
	if w.VIP < 0 || w.Skill < 0 || w.Load < 0 || w.Wait < 0 || w.VIP+w.Skill+w.Load+w.Wait <= 0 {
		return fmt.Errorf("weights must be ≥ 0 with a positive sum: %w", ErrInvalid)
	}
	if err := s.Store.PutRoutingWeights(ctx, w); err != nil {
		return err
	}
	s.Router.SetWeights(w)
	b, _ := json.Marshal(Event{Type: "routing.weights"})
	if _, err := s.Store.Pool().Exec(ctx, `SELECT pg_notify($1, $2)`, EventChannel, string(b)); err != nil {
		return mapPgErr(err, "weights event")
	}
	return s.Store.AppendAudit(ctx, nil, actor, "routing.weights", "", w)
}

// LoadWeights applies the stored weights (if any) to the router.
func (s *Service) LoadWeights(ctx context.Context) error {
	w, ok, err := s.Store.RoutingWeights(ctx)
	if err == nil && ok {
		s.Router.SetWeights(w)
	}
	return err
}

// Queue is an agent's work list: tickets they hold, then tickets waiting in
// their groups.
type Queue struct {
	Mine    []Ticket `json:"mine"`
	Waiting []Ticket `json:"waiting"`
}

// AgentQueue returns the agent's queue.
func (s *Service) AgentQueue(ctx context.Context, agentID string) (Queue, error) {
	a, err := s.Store.GetAgent(ctx, agentID)
	if err != nil {
		return Queue{}, err
	}
	q := Queue{Mine: []Ticket{}, Waiting: []Ticket{}}
	if q.Mine, err = s.Store.ActiveTickets(ctx, agentID); err != nil {
		return Queue{}, err
	}
	groups, err := s.Store.SkillGroups(ctx)
	if err != nil {
		return Queue{}, err
	}
	var skills []string
	for _, g := range groups {
		if slices.Contains(a.Groups, g.ID) {
			skills = append(skills, g.Skills...)
		}
	}
	if q.Waiting, err = s.Store.OpenForGroups(ctx, a.Groups, skills, 200); err != nil {
		return Queue{}, err
	}
	pols, err := s.Store.SLAPolicies(ctx)
	if err != nil {
		return Queue{}, err
	}
	slices.SortStableFunc(q.Waiting, func(x, y Ticket) int {
		return queueDeadline(pols, x).Compare(queueDeadline(pols, y))
	})
	return q, nil
}

// GroupQueue is a supervisor's view of one skill group.
type GroupQueue struct {
	GroupSLA
	Load     int `json:"load"`
	Capacity int `json:"capacity"`
}

// Queues returns depth, load and SLA risk for every skill group.
func (s *Service) Queues(ctx context.Context, atRiskFraction float64) ([]GroupQueue, error) {
	groups, err := s.Store.SkillGroups(ctx)
	if err != nil {
		return nil, err
	}
	stats, err := s.Store.GroupSLAStats(ctx, s.Now(), atRiskFraction)
	if err != nil {
		return nil, err
	}
	out := make([]GroupQueue, 0, len(groups))
	for _, g := range groups {
		q := GroupQueue{GroupSLA: GroupSLA{GroupID: g.ID}}
		if i := slices.IndexFunc(stats, func(x GroupSLA) bool { return x.GroupID == g.ID }); i >= 0 {
			q.GroupSLA = stats[i]
		}
		if q.Waiting, err = s.Router.QueueDepth(ctx, g.ID); err != nil {
			return nil, err
		}
		if q.Load, q.Capacity, err = s.Router.GroupLoad(ctx, g.ID); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, nil
}

// Snapshot is the router's rebuild source: everything from PostgreSQL.
func (s *Service) Snapshot(ctx context.Context) (RouterSnapshot, error) {
	groups, err := s.Store.SkillGroups(ctx)
	if err != nil {
		return RouterSnapshot{}, err
	}
	pols, err := s.Store.SLAPolicies(ctx)
	if err != nil {
		return RouterSnapshot{}, err
	}
	return s.Store.RouterSnapshot(ctx, func(t Ticket) RouterWaiting {
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
	s.Store.Listen(ctx, s.Log, s.handleEvent, func(reconnected bool) {
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
	case ev.Type == "routing.weights":
		if err := s.LoadWeights(ctx); err != nil {
			s.Log.Error("reload routing weights", "err", err)
		}
	case ev.TicketID != "":
		if err := s.Cache.Invalidate(ctx, ev.TicketID, ev.Version); err != nil {
			s.Log.Warn("invalidate ticket cache", "err", err)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.subs {
		fn(ev)
	}
}
