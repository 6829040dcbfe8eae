package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// View is one of the console's ticket lists.
type View string

// The ticket lists: the tickets an agent holds, those waiting for an agent, every open
// one (waiting or held), and the finished ones.
const (
	ViewMine     View = "mine"
	ViewWaiting  View = "waiting"
	ViewOpen     View = "open"
	ViewResolved View = "resolved"
)

// statuses are the ticket states a view lists.
func (v View) statuses() ([]Status, error) {
	switch v {
	case "":
		return nil, nil
	case ViewMine:
		return []Status{StatusAssigned, StatusPending}, nil
	case ViewWaiting:
		return []Status{StatusOpen}, nil
	case ViewOpen:
		return []Status{StatusOpen, StatusAssigned, StatusPending}, nil
	case ViewResolved:
		return []Status{StatusResolved, StatusClosed}, nil
	}
	return nil, fmt.Errorf("view %q: want mine, waiting, open or resolved: %w", v, ErrInvalid)
}

// SLAState is where a ticket stands against its SLA deadlines.
type SLAState string

// A ticket's SLA state: a deadline passed (marked by the SLA watcher, or past and not yet
// marked), an unresolved ticket with less than the at-risk fraction of a deadline's time
// left, or neither.
const (
	SLABreached SLAState = "breached"
	SLAAtRisk   SLAState = "at_risk"
	SLAOK       SLAState = "ok"
)

// TicketFilter selects tickets for list views. Zero fields do not filter.
type TicketFilter struct {
	Since, Until time.Time
	Status       Status
	View         View // the statuses a console list shows (with Status: both must hold)
	AssigneeID   string
	CustomerName string // the whole name, any case (names are sealed; see store_names.go)
	Tag          string // tickets with this tag
	Priority     Priority
	Channel      string // tickets whose conversation came through this channel
	// SLA selects by SLA state at Now, at risk with less than AtRiskFraction (default 0.2)
	// of a deadline's time left.
	SLA            SLAState
	AtRiskFraction float64
	Now            time.Time
	// Text finds tickets whose subject or conversation (redacted) holds it, any case:
	// a substring, so Chinese needs no word breaks ("退款" finds "我的退款还没到"); or
	// whose customer's whole name it is (names are sealed: found by their blind index).
	Text  string
	Limit int

	customerNameIndex []byte      // set by ListTickets from CustomerName
	textNameIndex     []byte      // set by ListTickets from Text
	agentScope        *agentScope // set by Service.ListTickets for an agent
}

// agentScope is what an agent may list: the tickets they hold and those waiting in their
// groups (or needing their groups' skills).
type agentScope struct {
	agentID        string
	groups, skills []string
}

// ListTickets lists the tickets of f the actor may see: a supervisor any; an agent those
// they hold or held (as assignee) and those waiting in their groups.
func (s *Service) ListTickets(ctx context.Context, actor Actor, f TicketFilter) ([]Ticket, error) {
	if !actor.Supervisor {
		a, err := s.store.GetAgent(ctx, actor.ID)
		if err != nil && !errors.Is(err, ErrNotFound) { // no agent record: no groups
			return nil, err
		}
		groups, err := s.store.SkillGroups(ctx)
		if err != nil {
			return nil, err
		}
		scope := &agentScope{agentID: actor.ID, groups: a.Groups, skills: []string{}}
		for _, g := range groups {
			if slices.Contains(a.Groups, g.ID) {
				scope.skills = append(scope.skills, g.Skills...)
			}
		}
		if scope.groups == nil {
			scope.groups = []string{}
		}
		f.agentScope = scope
	}
	if f.View == ViewMine {
		f.AssigneeID = actor.ID
	}
	if f.Now.IsZero() {
		f.Now = s.Now()
	}
	return s.store.ListTickets(ctx, f)
}

// ListTickets serves ticket lists from the read replica.
func (s *TicketRecords) ListTickets(ctx context.Context, f TicketFilter) ([]Ticket, error) {
	if f.CustomerName != "" {
		f.customerNameIndex = s.nameIndex(f.CustomerName)
	}
	if strings.TrimSpace(f.Text) != "" {
		f.textNameIndex = s.nameIndex(f.Text)
	}
	q, args, err := listTicketsQuery(f)
	if err != nil {
		return nil, err
	}
	return s.queryTickets(ctx, s.reads, "tickets", q, args...)
}

// The SQL of the SLA states; $now and $frac are bound by listTicketsQuery.
const (
	slaBreachedSQL = `(first_response_breached_at IS NOT NULL OR resolution_breached_at IS NOT NULL
		OR (status NOT IN ('resolved', 'closed') AND ((first_response_at IS NULL AND first_response_due < $now)
			OR resolution_due < $now)))`
	slaAtRiskSQL = `(status NOT IN ('resolved', 'closed') AND NOT ` + slaBreachedSQL + ` AND (
		(first_response_at IS NULL AND first_response_due IS NOT NULL AND first_response_due - $now < (first_response_due - created_at) * $frac)
		OR (resolution_due IS NOT NULL AND resolution_due - $now < (resolution_due - created_at) * $frac)))`
)

// listTicketsQuery builds the list query. Its shapes match the indexes
// tickets_list_idx (time window + status + assignee) and
// tickets_customer_name_bidx_idx (a whole name, through its blind index).
func listTicketsQuery(f TicketFilter) (string, []any, error) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	statuses, err := f.View.statuses()
	if err != nil {
		return "", nil, err
	}
	if !f.Since.IsZero() {
		add("created_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("created_at < $%d", f.Until)
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if statuses != nil {
		add("status = ANY($%d)", statuses)
	}
	if f.AssigneeID != "" {
		add("assignee = $%d", f.AssigneeID)
	}
	if sc := f.agentScope; sc != nil {
		args = append(args, sc.agentID, sc.groups, sc.skills)
		n := len(args)
		conds = append(conds, fmt.Sprintf("(assignee = $%d OR (status = 'open' AND (group_id = ANY($%d) OR skills && $%d)))", n-2, n-1, n))
	}
	if f.CustomerName != "" {
		add("customer_name_bidx = $%d", f.customerNameIndex)
	}
	if f.Tag != "" {
		add("tags @> ARRAY[$%d]::text[]", f.Tag)
	}
	if f.Priority != "" {
		add("priority = $%d", f.Priority)
	}
	if f.Channel != "" {
		add("EXISTS (SELECT 1 FROM conversations c WHERE c.id = tickets.conversation_id AND c.channel = $%d)", f.Channel)
	}
	if f.SLA != "" {
		frac := f.AtRiskFraction
		if frac <= 0 || frac >= 1 {
			frac = 0.2
		}
		args = append(args, f.Now)
		bind := strings.NewReplacer("$now", fmt.Sprintf("$%d::timestamptz", len(args)))
		if f.SLA != SLABreached {
			args = append(args, frac)
			bind = strings.NewReplacer("$now", fmt.Sprintf("$%d::timestamptz", len(args)-1), "$frac", fmt.Sprintf("$%d::float8", len(args)))
		}
		switch f.SLA {
		case SLABreached:
			conds = append(conds, bind.Replace(slaBreachedSQL))
		case SLAAtRisk:
			conds = append(conds, bind.Replace(slaAtRiskSQL))
		case SLAOK:
			conds = append(conds, bind.Replace("NOT "+slaBreachedSQL+" AND NOT "+slaAtRiskSQL))
		default:
			return "", nil, fmt.Errorf("sla %q: want breached, at_risk or ok: %w", f.SLA, ErrInvalid)
		}
	}
	if f.Text != "" {
		args = append(args, "%"+likeEscaper.Replace(f.Text)+"%", f.textNameIndex)
		n := len(args)
		conds = append(conds, fmt.Sprintf(`(subject ILIKE $%d OR customer_name_bidx = $%d OR EXISTS (SELECT 1 FROM messages m
			WHERE m.conversation_id = tickets.conversation_id AND m.body ILIKE $%[1]d))`, n-1, n))
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	q := `SELECT ` + ticketCols + ` FROM tickets`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	return q + fmt.Sprintf(` ORDER BY created_at DESC LIMIT %d`, f.Limit), args, nil
}
