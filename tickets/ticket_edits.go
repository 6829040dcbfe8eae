package tickets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Changes agents make to a ticket besides the conversation: its tags and its priority.

var tagRe = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}_-]{0,31}$`)

const maxTags = 20

// SetTags replaces the tags of ticket id, which the actor must see: lower-cased, each
// 1 to 32 letters, digits, - and _, at most 20. The change is audited.
func (s *Service) SetTags(ctx context.Context, actor Actor, id string, tags []string) (Ticket, error) {
	var clean []string
	for _, tag := range tags {
		tag = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(tag), "#")))
		if !tagRe.MatchString(tag) {
			return Ticket{}, fmt.Errorf("tag %q: 1 to 32 letters, digits, - and _: %w", tag, ErrInvalid)
		}
		if !slices.Contains(clean, tag) {
			clean = append(clean, tag)
		}
	}
	if len(clean) > maxTags {
		return Ticket{}, fmt.Errorf("%d tags: at most %d: %w", len(clean), maxTags, ErrInvalid)
	}
	if _, err := s.visibleTicket(ctx, actor, id); err != nil {
		return Ticket{}, err
	}
	_, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		if slices.Equal(t.Tags, clean) || len(t.Tags) == 0 && len(clean) == 0 {
			return errNoChange
		}
		t.Tags = clean
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.tags", id, map[string]any{"tags": nonNilTags(clean)})
	})
	if errors.Is(err, errNoChange) {
		return s.GetTicket(ctx, id)
	}
	if err != nil {
		return Ticket{}, err
	}
	s.afterWrite(ctx, t)
	return t, nil
}

func nonNilTags(tags []string) []string {
	if tags == nil {
		return []string{}
	}
	return tags
}

// SetPriority changes ticket id's priority (the agent who holds it, or a supervisor),
// audited: its SLA deadlines are those of the new priority's policy from its opening
// (in its group's business time, setDeadlines), and a ticket waiting in the queue is
// queued again by them.
func (s *Service) SetPriority(ctx context.Context, actor Actor, id string, p Priority) (Ticket, *Assignment, error) {
	if !p.Valid() {
		return Ticket{}, nil, fmt.Errorf("priority %q: urgent, high, normal or low: %w", p, ErrInvalid)
	}
	pols, err := s.store.SLAPolicies(ctx)
	if err != nil {
		return Ticket{}, nil, err
	}
	groups, err := s.store.SkillGroups(ctx)
	if err != nil {
		return Ticket{}, nil, err
	}
	before, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		if err := mayTransfer(actor, t); err != nil {
			return err
		}
		if t.Priority == p {
			return errNoChange
		}
		from := t.Priority
		t.Priority = p
		if err := setDeadlines(pols, groups, t); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.priority", id, map[string]any{"from": from, "to": p})
	})
	if errors.Is(err, errNoChange) {
		t, err := s.GetTicket(ctx, id)
		return t, nil, err
	}
	if err != nil {
		return Ticket{}, nil, err
	}
	s.afterWrite(ctx, t)
	if before.Status != StatusOpen {
		return t, nil, nil
	}
	// waiting: its place in the queue follows its deadline
	if err := s.releaseSlot(ctx, before); err != nil {
		return t, nil, err
	}
	cands, err := s.candidates(ctx, t.Skills)
	if err != nil {
		return t, nil, err
	}
	return s.route(ctx, t, cands, "route")
}
