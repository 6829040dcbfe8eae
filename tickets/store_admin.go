package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// dbtx is a pool or a transaction.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// PutSkillGroup creates or replaces a skill group (not audited; see
// Directory.PutSkillGroup).
func (s *TicketRecords) PutSkillGroup(ctx context.Context, g SkillGroup) error {
	return putSkillGroup(ctx, s.primary, g)
}

func putSkillGroup(ctx context.Context, q dbtx, g SkillGroup) error {
	if g.Skills == nil {
		g.Skills = []string{}
	}
	var cal []byte // NULL: no calendar
	if g.Calendar != nil {
		var err error
		if cal, err = json.Marshal(g.Calendar); err != nil {
			return fmt.Errorf("skill group %s calendar: %w", g.ID, err)
		}
	}
	_, err := q.Exec(ctx, `INSERT INTO skill_groups (id, name, skills, calendar) VALUES ($1, $2, $3, $4::jsonb)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, skills = EXCLUDED.skills, calendar = EXCLUDED.calendar`,
		g.ID, g.Name, g.Skills, nullJSON(cal))
	return mapPgErr(err, "skill group "+g.ID)
}

const skillGroupsSQL = `SELECT id, name, skills, calendar FROM skill_groups ORDER BY id`

// SkillGroups lists all skill groups by id.
func (s *TicketRecords) SkillGroups(ctx context.Context) ([]SkillGroup, error) {
	return collectSkillGroups(s.primary.Query(ctx, skillGroupsSQL))
}

func collectSkillGroups(rows pgx.Rows, err error) ([]SkillGroup, error) {
	if err != nil {
		return nil, mapPgErr(err, "skill groups")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SkillGroup, error) {
		var g SkillGroup
		var cal []byte
		if err := r.Scan(&g.ID, &g.Name, &g.Skills, &cal); err != nil {
			return g, err
		}
		if cal != nil {
			g.Calendar = &Calendar{}
			if err := json.Unmarshal(cal, g.Calendar); err != nil {
				return g, fmt.Errorf("skill group %s calendar: %w", g.ID, err)
			}
		}
		return g, nil
	})
	return out, mapPgErr(err, "skill groups")
}

const agentCols = `a.id, a.name, a.skills, a.groups, a.capacity, a.max_capacity, a.status,
	(SELECT count(*) FROM tickets t WHERE t.assignee = a.id AND t.status IN ('assigned', 'pending'))`

func scanAgent(r pgx.Row) (Agent, error) {
	var a Agent
	err := r.Scan(&a.ID, &a.Name, &a.Skills, &a.Groups, &a.Capacity, &a.MaxCapacity, &a.Status, &a.Load)
	return a, err
}

// PutAgent creates an agent or updates name, skills, groups, capacity and the
// maximum capacity (0: the capacity). A new agent starts offline; status changes
// go through SetAgentStatus.
func (s *TicketRecords) PutAgent(ctx context.Context, a Agent) (Agent, error) {
	if err := putAgent(ctx, s.primary, a); err != nil {
		return Agent{}, err
	}
	return s.GetAgent(ctx, a.ID)
}

func putAgent(ctx context.Context, q dbtx, a Agent) error {
	if a.Skills == nil {
		a.Skills = []string{}
	}
	if a.Groups == nil {
		a.Groups = []string{}
	}
	var missing []string
	err := q.QueryRow(ctx, `SELECT coalesce(array_agg(g), '{}') FROM unnest($1::text[]) g
		WHERE g NOT IN (SELECT id FROM skill_groups)`, a.Groups).Scan(&missing)
	if err != nil {
		return mapPgErr(err, "agent "+a.ID)
	}
	if len(missing) > 0 {
		return fmt.Errorf("agent %s: unknown skill groups %v: %w", a.ID, missing, ErrInvalid)
	}
	if a.MaxCapacity == 0 {
		a.MaxCapacity = a.Capacity
	}
	_, err = q.Exec(ctx, `INSERT INTO agents (id, name, skills, groups, capacity, max_capacity) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, skills = EXCLUDED.skills, groups = EXCLUDED.groups,
			capacity = EXCLUDED.capacity, max_capacity = EXCLUDED.max_capacity, updated_at = now()`,
		a.ID, a.Name, a.Skills, a.Groups, a.Capacity, a.MaxCapacity)
	return mapPgErr(err, "agent "+a.ID)
}

// GetAgent loads an agent with its current load.
func (s *TicketRecords) GetAgent(ctx context.Context, id string) (Agent, error) {
	a, err := scanAgent(s.primary.QueryRow(ctx, `SELECT `+agentCols+` FROM agents a WHERE a.id = $1`, id))
	return a, mapPgErr(err, "agent "+id)
}

// Agents lists all agents by id.
func (s *TicketRecords) Agents(ctx context.Context) ([]Agent, error) {
	rows, err := s.primary.Query(ctx, `SELECT `+agentCols+` FROM agents a ORDER BY a.id`)
	if err != nil {
		return nil, mapPgErr(err, "agents")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Agent, error) { return scanAgent(r) })
	return out, mapPgErr(err, "agents")
}

// SetAgentStatus sets presence and, when capacity ≥ 0, capacity. A supervisor
// (byAgent false) may set any capacity, which raises the maximum when above it;
// the agent (byAgent true) at most the maximum, else ErrForbidden.
func (s *TicketRecords) SetAgentStatus(ctx context.Context, id string, status AgentStatus, capacity int, byAgent bool) (Agent, error) {
	if err := setAgentStatus(ctx, s.primary, id, status, capacity, byAgent); err != nil {
		return Agent{}, err
	}
	return s.GetAgent(ctx, id)
}

func setAgentStatus(ctx context.Context, q dbtx, id string, status AgentStatus, capacity int, byAgent bool) error {
	tag, err := q.Exec(ctx, `UPDATE agents SET status = $2,
		capacity = CASE WHEN $3 >= 0 THEN $3 ELSE capacity END,
		max_capacity = greatest(max_capacity, $3), updated_at = now()
		WHERE id = $1 AND NOT ($4 AND $3 > max_capacity)`, id, status, capacity, byAgent)
	if err != nil {
		return mapPgErr(err, "agent "+id)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var most int
	if err := q.QueryRow(ctx, `SELECT max_capacity FROM agents WHERE id = $1`, id).Scan(&most); err != nil {
		return mapPgErr(err, "agent "+id)
	}
	return fmt.Errorf("capacity %d is above %d, the most your supervisor allows: %w", capacity, most, ErrForbidden)
}

// PutSLAPolicy creates or replaces the policy of one priority.
func (s *TicketRecords) PutSLAPolicy(ctx context.Context, p SLAPolicy) error {
	return putSLAPolicy(ctx, s.primary, p)
}

func putSLAPolicy(ctx context.Context, q dbtx, p SLAPolicy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if p.Timezone == "" {
		p.Timezone = "UTC"
	}
	if p.BusinessDays == nil {
		p.BusinessDays = []int{}
	}
	_, err := q.Exec(ctx, `INSERT INTO sla_policies (priority, first_response_minutes, resolution_minutes,
			timezone, business_days, business_start, business_end)
		VALUES ($1, $2, $3, $4, $5, nullif($6, '')::time, nullif($7, '')::time)
		ON CONFLICT (priority) DO UPDATE SET first_response_minutes = EXCLUDED.first_response_minutes,
			resolution_minutes = EXCLUDED.resolution_minutes, timezone = EXCLUDED.timezone,
			business_days = EXCLUDED.business_days, business_start = EXCLUDED.business_start,
			business_end = EXCLUDED.business_end`,
		p.Priority, p.FirstResponseMinutes, p.ResolutionMinutes, p.Timezone, p.BusinessDays, p.BusinessStart, p.BusinessEnd)
	return mapPgErr(err, "sla policy")
}

const slaPoliciesSQL = `SELECT priority, first_response_minutes, resolution_minutes, timezone,
		business_days, coalesce(to_char(business_start, 'HH24:MI'), ''), coalesce(to_char(business_end, 'HH24:MI'), '')
	FROM sla_policies`

// SLAPolicies returns the policies by priority.
func (s *TicketRecords) SLAPolicies(ctx context.Context) (map[Priority]SLAPolicy, error) {
	return collectSLAPolicies(s.primary.Query(ctx, slaPoliciesSQL))
}

func collectSLAPolicies(rows pgx.Rows, err error) (map[Priority]SLAPolicy, error) {
	if err != nil {
		return nil, mapPgErr(err, "sla policies")
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SLAPolicy, error) {
		var p SLAPolicy
		err := r.Scan(&p.Priority, &p.FirstResponseMinutes, &p.ResolutionMinutes, &p.Timezone,
			&p.BusinessDays, &p.BusinessStart, &p.BusinessEnd)
		return p, err
	})
	if err != nil {
		return nil, mapPgErr(err, "sla policies")
	}
	out := make(map[Priority]SLAPolicy, len(list))
	for _, p := range list {
		out[p.Priority] = p
	}
	return out, nil
}

// ticketInputs is what opening a ticket reads (see TicketRecords.ticketInputs).
type ticketInputs struct {
	customer *Customer // nil: no customer has the pseudonymous id yet
	owner    string    // the named conversation's customer
	policies map[Priority]SLAPolicy
	groups   []SkillGroup
}

// ticketInputs reads the customer, the owner of the named conversation
// (none when conversationID is empty), the SLA policies and the skill
// groups in one round trip.
func (s *TicketRecords) ticketInputs(ctx context.Context, pseudonymousID, conversationID string) (ticketInputs, error) {
	if conversationID != "" && uuid.Validate(conversationID) != nil {
		return ticketInputs{}, fmt.Errorf("conversation %q: %w", conversationID, ErrNotFound)
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT `+customerCols+` FROM customers WHERE pseudonymous_id = $1`, pseudonymousID)
	b.Queue(slaPoliciesSQL)
	b.Queue(skillGroupsSQL)
	if conversationID != "" {
		b.Queue(`SELECT customer_id FROM conversations WHERE id = $1`, conversationID)
	}
	br := s.primary.SendBatch(ctx, b)
	defer br.Close()
	var in ticketInputs
	c, err := s.scanCustomer(br.QueryRow())
	switch {
	case err == nil:
		in.customer = &c
	case !errors.Is(err, ErrNotFound):
		return ticketInputs{}, err
	}
	if in.policies, err = collectSLAPolicies(br.Query()); err != nil {
		return ticketInputs{}, err
	}
	if in.groups, err = collectSkillGroups(br.Query()); err != nil {
		return ticketInputs{}, err
	}
	if conversationID != "" {
		if err := br.QueryRow().Scan(&in.owner); err != nil {
			return ticketInputs{}, mapPgErr(err, "conversation "+conversationID)
		}
	}
	return in, mapPgErr(br.Close(), "ticket inputs")
}

// RoutingWeights returns the stored weights; ok is false when none are stored.
func (s *TicketRecords) RoutingWeights(ctx context.Context) (w Weights, ok bool, err error) {
	err = s.primary.QueryRow(ctx, `SELECT vip, skill, load, wait FROM routing_weights`).Scan(&w.VIP, &w.Skill, &w.Load, &w.Wait)
	if err == pgx.ErrNoRows {
		return Weights{}, false, nil
	}
	return w, err == nil, mapPgErr(err, "routing weights")
}

// PutRoutingWeights stores the weights.
func (s *TicketRecords) PutRoutingWeights(ctx context.Context, w Weights) error {
	return putRoutingWeights(ctx, s.primary, w)
}

func putRoutingWeights(ctx context.Context, q dbtx, w Weights) error {
	_, err := q.Exec(ctx, `INSERT INTO routing_weights (vip, skill, load, wait) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET vip = $1, skill = $2, load = $3, wait = $4, updated_at = now()`,
		w.VIP, w.Skill, w.Load, w.Wait)
	return mapPgErr(err, "routing weights")
}

// RouterSnapshot reads everything the router needs to rebuild its Redis
// state — agents, the tickets they hold, the open tickets waiting — from one
// consistent view (a read-only repeatable-read transaction). waiting
// describes an open ticket as the router queues it.
func (s *TicketRecords) RouterSnapshot(ctx context.Context, waiting func(Ticket) RouterWaiting) (RouterSnapshot, error) {
	var snap RouterSnapshot
	err := pgx.BeginTxFunc(ctx, s.primary, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+agentCols+` FROM agents a ORDER BY a.id`)
		if err != nil {
			return err
		}
		agents, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Agent, error) { return scanAgent(r) })
		if err != nil {
			return err
		}
		for _, a := range agents {
			snap.Agents = append(snap.Agents, RouterAgent{ID: a.ID, Status: a.Status, Capacity: a.Capacity, Groups: a.Groups})
		}
		rows, err = tx.Query(ctx, `SELECT id, assignee FROM tickets WHERE status IN ('assigned', 'pending') AND assignee IS NOT NULL`)
		if err != nil {
			return err
		}
		if snap.Assigned, err = pgx.CollectRows(rows, pgx.RowToStructByPos[RouterAssigned]); err != nil {
			return err
		}
		open, err := s.queryTickets(ctx, tx, "open tickets", `SELECT `+ticketCols+` FROM tickets WHERE status = 'open' ORDER BY created_at`)
		for _, t := range open {
			snap.Waiting = append(snap.Waiting, waiting(t))
		}
		return err
	})
	return snap, mapPgErr(err, "routing snapshot")
}
