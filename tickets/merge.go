package tickets

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Merging duplicate tickets. The duplicate is closed with merged_into naming the ticket
// that carries on (the survivor); nothing is moved: its conversation and messages stay
// where they were written, redacted as they were, and the survivor's detail lists them
// (TicketDetail.Merged), so the transcript and the audit chain stay as they are. Its tags
// join the survivor's and its notes are copied there (Note.MergedFrom). The holder's slot
// or the queue place it took is given back. An agent merges two tickets of one customer
// that they hold (the duplicate may instead wait in one of their groups); a supervisor
// merges any two, also across customers (the same person writing on two channels). A
// ticket that others were merged into is not merged itself, and nothing is merged into a
// merged ticket: there are no chains.

// MergedTicket is a duplicate as the survivor's detail lists it: the ticket, and the
// redacted messages of its conversation when that is not the survivor's own (then they
// are in TicketDetail.Messages already).
type MergedTicket struct {
	Ticket   Ticket    `json:"ticket"`
	Messages []Message `json:"messages"`
}

// maxMerged bounds how many duplicates a detail lists.
const maxMerged = 50

// Merge closes ticket dupID as a duplicate of intoID, audited as ticket.merge, and
// returns both as stored. Merging a ticket again into the ticket it was merged into
// changes nothing.
func (s *Service) Merge(ctx context.Context, actor Actor, dupID, intoID string) (dup, into Ticket, err error) {
	switch {
	case intoID == "":
		return Ticket{}, Ticket{}, fmt.Errorf("into: name the ticket to merge into: %w", ErrInvalid)
	case dupID == intoID:
		return Ticket{}, Ticket{}, fmt.Errorf("a ticket cannot be merged into itself: %w", ErrInvalid)
	}
	cur, err := s.store.GetTicket(ctx, dupID)
	if err != nil {
		return Ticket{}, Ticket{}, err
	}
	target, err := s.store.GetTicket(ctx, intoID)
	if errors.Is(err, ErrNotFound) {
		return Ticket{}, Ticket{}, fmt.Errorf("into: ticket %q: %w", intoID, ErrInvalid)
	}
	if err != nil {
		return Ticket{}, Ticket{}, err
	}
	m := merger{actor: actor}
	if !actor.Supervisor {
		if m.agent, err = s.store.GetAgent(ctx, actor.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return Ticket{}, Ticket{}, err
		}
		if m.groups, err = s.store.SkillGroups(ctx); err != nil {
			return Ticket{}, Ticket{}, err
		}
	}
	if cur.MergedInto == target.ID { // done before: a retry
		return cur, target, s.canSee(ctx, actor, target)
	}
	if err := m.allowed(&cur, &target); err != nil { // before anything else is read or said
		return Ticket{}, Ticket{}, err
	}
	before, dup, into, err := s.store.mergeTickets(ctx, dupID, intoID, func(tx pgx.Tx, d, t *Ticket) error {
		if d.MergedInto == t.ID {
			return errNoChange
		}
		if err := m.allowed(d, t); err != nil {
			return err
		}
		if err := mergeable(ctx, tx, d, t); err != nil {
			return err
		}
		tags := slices.Clone(t.Tags)
		for _, tag := range d.Tags {
			if !slices.Contains(tags, tag) {
				tags = append(tags, tag)
			}
		}
		if len(tags) > maxTags {
			return fmt.Errorf("together the tickets have %d tags, at most %d: remove some first: %w", len(tags), maxTags, ErrConflict)
		}
		now := s.Now()
		from, added := d.Status, tags[len(t.Tags):]
		d.Status, d.ClosedAt, d.MergedInto = StatusClosed, &now, t.ID
		t.Tags = tags
		tag, err := tx.Exec(ctx, `INSERT INTO ticket_notes (ticket_id, author, body, mentions, created_at, merged_from)
			SELECT $1, author, body, mentions, created_at, ticket_id FROM ticket_notes WHERE ticket_id = $2 ORDER BY id`, t.ID, d.ID)
		if err != nil {
			return mapPgErr(err, "notes")
		}
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.merge", d.ID, map[string]any{"into": t.ID, "status": from,
			"notes": tag.RowsAffected(), "tags_added": nonNilTags(added)})
	})
	if errors.Is(err, errNoChange) {
		if dup, err = s.GetTicket(ctx, dupID); err != nil {
			return Ticket{}, Ticket{}, err
		}
		into, err = s.GetTicket(ctx, intoID)
		return dup, into, err
	}
	if err != nil {
		return Ticket{}, Ticket{}, err
	}
	s.afterWrite(ctx, dup)
	s.afterWrite(ctx, into)
	return dup, into, s.releaseSlot(ctx, before)
}

// merger decides who may merge: a supervisor any two tickets; an agent a ticket of one
// customer into a ticket they hold, when they hold the duplicate too or it waits in one
// of their groups.
type merger struct {
	actor  Actor
	agent  Agent        // the acting agent (not read for a supervisor)
	groups []SkillGroup // every skill group (not read for a supervisor)
}

func (m merger) allowed(d, t *Ticket) error {
	if m.actor.Supervisor {
		return nil
	}
	if !t.Status.Active() || t.AssigneeID != m.actor.ID {
		return fmt.Errorf("ticket %s is not assigned to you: merge into a ticket you hold: %w", t.ID, ErrForbidden)
	}
	held := d.Status.Active() && d.AssigneeID == m.actor.ID
	waiting := d.Status == StatusOpen && slices.ContainsFunc(waitingGroups(m.groups, *d), func(g string) bool {
		return slices.Contains(m.agent.Groups, g)
	})
	if !held && !waiting {
		return fmt.Errorf("ticket %s is neither yours nor waiting in your groups: %w", d.ID, ErrForbidden)
	}
	if d.CustomerID != t.CustomerID {
		return fmt.Errorf("the tickets are of different customers: only a supervisor merges those: %w", ErrForbidden)
	}
	return nil
}

// mergeable refuses a merge that the tickets' states do not allow: a duplicate already
// closed, a survivor resolved or closed, and chains.
func mergeable(ctx context.Context, tx pgx.Tx, d, t *Ticket) error {
	switch {
	case d.MergedInto != "":
		return fmt.Errorf("ticket %s was already merged into %s: %w", d.ID, d.MergedInto, ErrConflict)
	case d.Status == StatusClosed:
		return fmt.Errorf("ticket %s is closed: %w", d.ID, ErrConflict)
	case t.MergedInto != "":
		return fmt.Errorf("ticket %s was itself merged into %s: merge into that one: %w", t.ID, t.MergedInto, ErrConflict)
	case t.Status == StatusResolved || t.Status == StatusClosed:
		return fmt.Errorf("ticket %s is %s: merge into a ticket still being worked on (reopen it first): %w", t.ID, t.Status, ErrConflict)
	}
	var survivor bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tickets WHERE merged_into = $1)`, d.ID).Scan(&survivor); err != nil {
		return mapPgErr(err, "merged tickets")
	}
	if survivor {
		return fmt.Errorf("tickets were merged into %s: merge %s into it instead (no chains): %w", d.ID, t.ID, ErrConflict)
	}
	return nil
}

// mergeTickets locks tickets dupID and intoID (in id order, so that two merges of the
// same pair cannot deadlock), lets fn change both, and writes and announces both in one
// transaction. It returns the duplicate before and after, and the survivor after.
func (s *TicketRecords) mergeTickets(ctx context.Context, dupID, intoID string, fn func(tx pgx.Tx, dup, into *Ticket) error) (before, dup, into Ticket, err error) {
	for _, id := range []string{dupID, intoID} {
		if uuid.Validate(id) != nil {
			return Ticket{}, Ticket{}, Ticket{}, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
		}
	}
	err = pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		locked, err := s.queryTickets(ctx, tx, "tickets", `SELECT `+ticketCols+` FROM tickets WHERE id = ANY($1::uuid[])
			ORDER BY id FOR UPDATE`, []string{dupID, intoID})
		if err != nil {
			return err
		}
		var d, t *Ticket
		for i := range locked {
			switch locked[i].ID {
			case dupID:
				d = &locked[i]
			case intoID:
				t = &locked[i]
			}
		}
		if d == nil || t == nil {
			return fmt.Errorf("ticket %s or %s: %w", dupID, intoID, ErrNotFound)
		}
		beforeInto := *t
		before = *d
		if err := fn(tx, d, t); err != nil {
			return err
		}
		if dup, err = s.saveTicketTx(ctx, tx, before, *d); err != nil {
			return err
		}
		into, err = s.saveTicketTx(ctx, tx, beforeInto, *t)
		return err
	})
	if err != nil {
		return Ticket{}, Ticket{}, Ticket{}, mapPgErr(err, "merge")
	}
	return before, dup, into, nil
}

// mergedInto lists the tickets merged into ticket id, oldest merge first.
func (s *TicketRecords) mergedInto(ctx context.Context, id string) ([]Ticket, error) {
	return s.queryTickets(ctx, s.primary, "merged tickets", `SELECT `+ticketCols+` FROM tickets
		WHERE merged_into = $1 ORDER BY closed_at, id LIMIT $2`, id, maxMerged)
}

// mergedDetail is what the survivor t's detail lists of the tickets merged into it.
func (s *Service) mergedDetail(ctx context.Context, t Ticket) ([]MergedTicket, error) {
	list, err := s.store.mergedInto(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	out := make([]MergedTicket, 0, len(list))
	for _, d := range list {
		m := MergedTicket{Ticket: d, Messages: []Message{}}
		if d.ConversationID != t.ConversationID {
			if m.Messages, err = s.store.ListMessages(ctx, d.ConversationID); err != nil {
				return nil, err
			}
			if err := s.attachDeliveries(ctx, d.ConversationID, m.Messages); err != nil {
				return nil, err
			}
			m.Messages = nonNilMessages(m.Messages)
		}
		out = append(out, m)
	}
	return out, nil
}

func nonNilMessages(m []Message) []Message {
	if m == nil {
		return []Message{}
	}
	return m
}
