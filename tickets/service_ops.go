package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// GetTicket reads a ticket cache-aside: Redis first, PostgreSQL on a miss.
func (s *Service) GetTicket(ctx context.Context, id string) (Ticket, error) {
	if t, ok, err := s.Cache.Get(ctx, id); err == nil && ok {
		if err = s.store.openCachedName(&t); err == nil {
			return t, nil
		}
		s.Log.Warn("cached ticket's name does not open; reading PostgreSQL", "err", err)
	} else if err != nil {
		s.Log.Warn("ticket cache read failed; reading PostgreSQL", "err", err)
	}
	t, err := s.store.GetTicket(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	// The cache keeps the customer's name sealed: Redis holds no names in the clear.
	if sealed, err := s.store.sealCachedName(t); err != nil {
		s.Log.Warn("ticket cache fill skipped", "err", err)
	} else if _, err := s.Cache.Fill(ctx, sealed); err != nil {
		s.Log.Warn("ticket cache fill failed", "err", err)
	}
	return t, nil
}

// TicketDetail is what an agent sees of one ticket.
type TicketDetail struct {
	Ticket      Ticket       `json:"ticket"`
	Messages    []Message    `json:"messages"`
	Assignments []Assignment `json:"assignments"`
	Notes       []Note       `json:"notes"` // agents' internal notes, never the customer's to see
	// Merged are the duplicates merged into this ticket, with their conversations'
	// messages (merge.go).
	Merged []MergedTicket `json:"merged"`
}

// Detail returns a ticket with its redacted transcript and its routing
// history (every assignment with its score breakdown).
func (s *Service) Detail(ctx context.Context, actor Actor, id string) (TicketDetail, error) {
	t, err := s.visibleTicket(ctx, actor, id)
	if err != nil {
		return TicketDetail{}, err
	}
	msgs, err := s.store.ListMessages(ctx, t.ConversationID)
	if err != nil {
		return TicketDetail{}, err
	}
	if err := s.attachDeliveries(ctx, t.ConversationID, msgs); err != nil {
		return TicketDetail{}, err
	}
	as, err := s.store.Assignments(ctx, t.ID)
	if err != nil {
		return TicketDetail{}, err
	}
	notes, err := s.store.notes(ctx, t.ID)
	if err != nil {
		return TicketDetail{}, err
	}
	merged, err := s.mergedDetail(ctx, t)
	if err != nil {
		return TicketDetail{}, err
	}
	return TicketDetail{Ticket: t, Messages: msgs, Assignments: as, Notes: notes, Merged: merged}, nil
}

// visibleTicket reads ticket id when the actor may see it (canSee).
func (s *Service) visibleTicket(ctx context.Context, actor Actor, id string) (Ticket, error) {
	t, err := s.GetTicket(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	return t, s.canSee(ctx, actor, t)
}

// canSee lets agents see tickets they hold, that wait in one of their groups (the
// router queues a ticket in every eligible group), that a colleague's note mentions
// them on, or that were merged into a ticket they may see.
func (s *Service) canSee(ctx context.Context, actor Actor, t Ticket) error {
	if actor.Supervisor || t.AssigneeID == actor.ID {
		return nil
	}
	if t.Status == StatusOpen {
		a, err := s.store.GetAgent(ctx, actor.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		groups, err := s.store.SkillGroups(ctx)
		if err != nil {
			return err
		}
		for _, g := range waitingGroups(groups, t) {
			if slices.Contains(a.Groups, g) {
				return nil
			}
		}
	}
	if mentioned, err := s.store.mentionedOn(ctx, t.ID, actor.ID); err != nil || mentioned {
		return err
	}
	if t.MergedInto != "" { // one step: nothing is merged into a merged ticket
		into, err := s.GetTicket(ctx, t.MergedInto)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil && into.MergedInto == "" && s.canSee(ctx, actor, into) == nil {
			return nil
		}
	}
	return fmt.Errorf("ticket %s is not yours: %w", t.ID, ErrForbidden)
}

// waitingGroups are the groups an open ticket waits in.
func waitingGroups(groups []SkillGroup, t Ticket) []string {
	out := []string{}
	if t.GroupID != "" {
		out = append(out, t.GroupID)
	}
	for _, c := range matchGroups(groups, t.Skills) {
		if c.SkillMatch > 0 && !slices.Contains(out, c.ID) {
			out = append(out, c.ID)
		}
	}
	return out
}

// mayFinish lets supervisors and the ticket's (last) assignee close or
// reopen it.
func mayFinish(actor Actor, t *Ticket) error {
	if actor.Supervisor || (t.AssigneeID != "" && t.AssigneeID == actor.ID) {
		return nil
	}
	return fmt.Errorf("ticket %s was not handled by you: %w", t.ID, ErrForbidden)
}

// mustHold admits supervisors and the ticket's assignee while it is assigned; an agent
// who is not the assignee is refused whatever the ticket's state.
func (s *Service) mustHold(actor Actor, t *Ticket) error {
	if !actor.Supervisor && t.AssigneeID != actor.ID {
		return fmt.Errorf("ticket %s is not assigned to you: %w", t.ID, ErrForbidden)
	}
	if !t.Status.Active() {
		return fmt.Errorf("ticket %s is %s, not assigned: %w", t.ID, t.Status, ErrConflict)
	}
	return nil
}

// Claim accepts a ticket routed to the agent, or takes one waiting in the
// agent's groups (atomically, respecting capacity).
func (s *Service) Claim(ctx context.Context, actor Actor, id string) (Ticket, error) {
	t, err := s.store.GetTicket(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	switch {
	case t.Status.Active() && t.AssigneeID == actor.ID:
		_, t, err = s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
			if t.AssigneeID != actor.ID || !t.Status.Active() {
				return fmt.Errorf("ticket %s changed hands: %w", id, ErrConflict)
			}
			if t.ClaimedAt == nil {
				now := s.Now()
				t.ClaimedAt = &now
			}
			return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.claim", id, nil)
		})
		if err == nil {
			s.afterWrite(ctx, t)
		}
		return t, err
	case t.Status == StatusOpen:
		if err := s.canSee(ctx, actor, t); err != nil {
			return Ticket{}, err
		}
		res, err := s.Router.Claim(ctx, actor.ID, id)
		if err != nil {
			return Ticket{}, fmt.Errorf("claim ticket %s: %w", id, err)
		}
		t, _, err = s.apply(ctx, res, "claim")
		return t, err
	default:
		if err := s.canSee(ctx, actor, t); err != nil {
			return Ticket{}, err
		}
		if !t.Status.Active() {
			return Ticket{}, fmt.Errorf("ticket %s is %s: only open tickets can be claimed: %w", id, t.Status, ErrConflict)
		}
		return Ticket{}, fmt.Errorf("ticket %s is %s and assigned to another agent: %w", id, t.Status, ErrConflict)
	}
}

// answered marks t as answered by its agent at now: claimed and first responded to (if
// not already), and pending on the customer.
func (t *Ticket) answered(now time.Time) {
	if t.ClaimedAt == nil {
		t.ClaimedAt = &now
	}
	if t.FirstResponseAt == nil {
		t.FirstResponseAt = &now
	}
	t.Status = StatusPending
}

// Reply stores an agent's reply (redacted) in the conversation, marks the
// first response and sets the ticket pending on the customer. The customer
// receives the reply as written (QueueReplyTx); staff, logs and the audit log
// see the redacted text.
func (s *Service) Reply(ctx context.Context, actor Actor, id, text string) (Ticket, Message, error) {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > maxTextLen || !utf8.ValidString(text) {
		return Ticket{}, Message{}, fmt.Errorf("reply text: 1 to %d bytes of UTF-8: %w", maxTextLen, ErrInvalid)
	}
	red, err := s.redact(ctx, text)
	if err != nil {
		return Ticket{}, Message{}, err
	}
	msg := Message{Author: "agent:" + actor.ID, Text: red}
	var first bool // the agent's first reply of the ticket
	_, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		if err := s.mustHold(actor, t); err != nil {
			return err
		}
		first = t.FirstResponseAt == nil
		t.answered(s.Now())
		msg.ConversationID = t.ConversationID
		var err error
		if msg, err = InsertMessageTx(ctx, tx, msg); err != nil {
			return err
		}
		// Delivery to the customer commits with the reply: the stored text is
		// redacted, the customer gets what the agent wrote.
		if err := s.store.QueueReplyTx(ctx, tx, msg, text); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.reply", id, nil)
	})
	if err != nil {
		return Ticket{}, Message{}, err
	}
	s.afterWrite(ctx, t)
	s.store.AnnounceMessage(ctx, msg.ConversationID, msg.ID, msg.Author)
	// What the customer got (text), not the redacted copy: personal data the agent typed
	// out is a finding (its kind is stored, not the data).
	s.inspectReply(ctx, t, msg.ID, actor.ID, text, first)
	return t, msg, nil
}

// errNoChange ends an UpdateTicket without writing.
var errNoChange = errors.New("no change")

// CustomerReplied puts a ticket that was pending on the customer back in its agent's
// hands (pending → assigned) when the customer writes again; other states are left as
// they are. The agent's console learns of it from the ticket.updated event.
func (s *Service) CustomerReplied(ctx context.Context, id string) error {
	_, t, err := s.store.UpdateTicket(ctx, id, func(_ pgx.Tx, t *Ticket) error {
		if t.Status != StatusPending {
			return errNoChange
		}
		t.Status = StatusAssigned
		return nil
	})
	switch {
	case errors.Is(err, errNoChange):
		return nil
	case err != nil:
		return err
	}
	s.afterWrite(ctx, t)
	return nil
}

// Resolve marks a ticket resolved and asks its customer to rate the help (csat.go); the
// agent's freed slot pulls the next waiting ticket.
func (s *Service) Resolve(ctx context.Context, actor Actor, id string) (Ticket, error) {
	var ask Message // the customer's invitation to rate the help (csat.go)
	before, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		if t.Status == StatusOpen && !actor.Supervisor {
			return fmt.Errorf("ticket %s is not assigned to you: %w", id, ErrForbidden)
		}
		if t.Status != StatusOpen {
			if err := s.mustHold(actor, t); err != nil {
				return err
			}
		}
		now := s.Now()
		t.Status, t.ResolvedAt = StatusResolved, &now
		if err := s.store.AppendAudit(ctx, tx, actor.ID, "ticket.resolve", id, nil); err != nil {
			return err
		}
		var err error
		ask, err = s.requestCSATTx(ctx, tx, t)
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	s.afterWrite(ctx, t)
	if ask.ID != 0 {
		s.store.AnnounceMessage(ctx, ask.ConversationID, ask.ID, ask.Author)
	}
	err = s.releaseSlot(ctx, before)
	s.inspectConversation(ctx, t)
	return t, err
}

// releaseSlot gives back the router slot (or queue place) a ticket held.
func (s *Service) releaseSlot(ctx context.Context, before Ticket) error {
	ctx, cancel := detached(ctx) // the write committed: finish even if the client left
	defer cancel()
	var pulled []RouteResult
	var err error
	switch {
	case before.Status == StatusOpen:
		err = s.Router.Forget(ctx, before.ID)
	case before.Status.Active() && before.AssigneeID != "":
		pulled, err = s.Router.Release(ctx, before.AssigneeID, before.ID)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.invalidateRouting(ctx, before.ID)
		if IsUnavailable(err) {
			// The change is committed; the reconciler frees the slot from
			// PostgreSQL once Redis answers again.
			s.recovery.lost()
			s.Log.Warn("router slot not released: Redis unavailable; freed once it is back", "ticket", before.ID, "err", err)
			return nil
		}
		return fmt.Errorf("release router slot: %w", err)
	}
	s.applyPulled(ctx, pulled)
	return nil
}

// Close closes a resolved ticket.
func (s *Service) Close(ctx context.Context, actor Actor, id string) (Ticket, error) {
	_, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		if err := mayFinish(actor, t); err != nil {
			return err
		}
		if t.Status != StatusResolved {
			return fmt.Errorf("ticket %s is %s; only resolved tickets close: %w", id, t.Status, ErrConflict)
		}
		now := s.Now()
		t.Status, t.ClosedAt = StatusClosed, &now
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.close", id, nil)
	})
	if err == nil {
		s.afterWrite(ctx, t)
	}
	return t, err
}

// Reopen puts a resolved or closed ticket back in the queue and routes it.
func (s *Service) Reopen(ctx context.Context, actor Actor, id string) (Ticket, *Assignment, error) {
	_, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		if err := mayFinish(actor, t); err != nil {
			return err
		}
		if t.Status != StatusResolved && t.Status != StatusClosed {
			return fmt.Errorf("ticket %s is %s; only resolved or closed tickets reopen: %w", id, t.Status, ErrConflict)
		}
		t.Status, t.AssigneeID, t.ResolvedAt, t.ClosedAt, t.ClaimedAt = StatusOpen, "", nil, nil, nil
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.reopen", id, nil)
	})
	if err != nil {
		return Ticket{}, nil, err
	}
	s.afterWrite(ctx, t)
	cands, err := s.candidates(ctx, t.Skills)
	if err != nil {
		return t, nil, err
	}
	return s.route(ctx, t, cands, "route")
}

// Transfer moves a ticket to another skill group (routed there) or to a
// named agent (who must have a free slot). Its SLA deadlines are counted again
// from its opening in the business time of the group it moves to (setDeadlines).
func (s *Service) Transfer(ctx context.Context, actor Actor, id, toGroup, toAgent string) (Ticket, *Assignment, error) {
	if (toGroup == "") == (toAgent == "") {
		return Ticket{}, nil, fmt.Errorf("transfer needs exactly one of group or agent: %w", ErrInvalid)
	}
	// Who may transfer is checked before anything about the target is read (and again
	// in the update): the target's presence is not for every agent to learn.
	if cur, err := s.store.GetTicket(ctx, id); err != nil {
		return Ticket{}, nil, err
	} else if err := mayTransfer(actor, &cur); err != nil {
		return Ticket{}, nil, err
	}
	if toAgent != "" {
		target, err := s.store.GetAgent(ctx, toAgent)
		if err != nil {
			return Ticket{}, nil, err
		}
		if target.Status != AgentOnline || target.Load >= target.Capacity {
			return Ticket{}, nil, fmt.Errorf("agent %s is %s with %d/%d tickets: %w", toAgent, target.Status, target.Load, target.Capacity, ErrNoCapacity)
		}
		if len(target.Groups) == 0 {
			return Ticket{}, nil, fmt.Errorf("agent %s belongs to no skill group: %w", toAgent, ErrInvalid)
		}
		toGroup = target.Groups[0]
	}
	groups, err := s.existingGroup(ctx, toGroup)
	if err != nil {
		return Ticket{}, nil, err
	}
	pols, err := s.store.SLAPolicies(ctx)
	if err != nil {
		return Ticket{}, nil, err
	}
	before, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		if err := mayTransfer(actor, t); err != nil {
			return err
		}
		t.Status, t.AssigneeID, t.GroupID, t.ClaimedAt = StatusOpen, "", toGroup, nil
		if err := setDeadlines(pols, groups, t); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.transfer", id, map[string]any{"group": toGroup, "agent": toAgent})
	})
	if err != nil {
		return Ticket{}, nil, err
	}
	s.afterWrite(ctx, t)
	if err := s.releaseSlot(ctx, before); err != nil {
		return t, nil, err
	}
	if toAgent != "" {
		res, err := s.Router.AssignTo(ctx, toAgent, id, toGroup)
		if err == nil {
			return s.apply(ctx, res, "transfer")
		}
		s.Log.Warn("transfer to agent failed; routing to the agent's group", "ticket", id, "err", err)
	}
	return s.route(ctx, t, []GroupCandidate{{ID: toGroup, SkillMatch: 1}}, "transfer")
}

// mayTransfer admits supervisors, and the assignee of an assigned ticket.
func mayTransfer(actor Actor, t *Ticket) error {
	if !actor.Supervisor && (t.Status == StatusOpen || t.AssigneeID != actor.ID) {
		return fmt.Errorf("ticket %s is not assigned to you: %w", t.ID, ErrForbidden)
	}
	if t.Status != StatusOpen && !t.Status.Active() {
		return fmt.Errorf("ticket %s is %s, not assigned: %w", t.ID, t.Status, ErrConflict)
	}
	return nil
}

// existingGroup returns the skill groups when group id is one of them, else ErrNotFound.
func (s *Service) existingGroup(ctx context.Context, id string) ([]SkillGroup, error) {
	groups, err := s.store.SkillGroups(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(groups, func(g SkillGroup) bool { return g.ID == id }) {
		return nil, fmt.Errorf("skill group %q: %w", id, ErrNotFound)
	}
	return groups, nil
}
