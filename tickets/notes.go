package tickets

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Note is an agent's internal note on a ticket: redacted like a reply, seen by staff
// only (it is not a conversation message, so no customer route or channel reaches it).
// Mentions are the agents it names ("@bob"), who are told (a note.created event).
type Note struct {
	ID        int64     `json:"id"`
	TicketID  string    `json:"ticket_id"`
	Author    string    `json:"author"`
	Text      string    `json:"text"`
	Mentions  []string  `json:"mentions"`
	CreatedAt time.Time `json:"created_at"`
	// MergedFrom is the duplicate whose note this is a copy of (merge.go).
	MergedFrom string `json:"merged_from,omitempty"`
}

var (
	mentionRe = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_.@-])@([a-z0-9][a-z0-9_.-]{0,62})`)
)

const maxMentions = 10

// AddNote adds an internal note to ticket id, which the actor must see. Each "@agent" it
// names must be an agent; the note, the event telling them and its audit event commit
// with the ticket's new version.
func (s *Service) AddNote(ctx context.Context, actor Actor, id, text string) (Note, error) {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > maxTextLen || !utf8.ValidString(text) {
		return Note{}, fmt.Errorf("note text: 1 to %d bytes of UTF-8: %w", maxTextLen, ErrInvalid)
	}
	var mentions []string
	for _, m := range mentionRe.FindAllStringSubmatch(strings.ToLower(text), -1) {
		name := strings.TrimRight(m[1], ".-")
		if slices.Contains(mentions, name) {
			continue
		}
		if len(mentions) == maxMentions {
			return Note{}, fmt.Errorf("a note mentions at most %d agents: %w", maxMentions, ErrInvalid)
		}
		if _, err := s.store.GetAgent(ctx, name); err != nil {
			return Note{}, fmt.Errorf("note mentions @%s, who is not an agent: %w", name, ErrInvalid)
		}
		mentions = append(mentions, name)
	}
	red, err := s.redact(ctx, text)
	if err != nil {
		return Note{}, err
	}
	n := Note{TicketID: id, Author: actor.ID, Text: red, Mentions: nonNilTags(mentions)}
	if _, err := s.visibleTicket(ctx, actor, id); err != nil {
		return Note{}, err
	}
	_, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		err := tx.QueryRow(ctx, `INSERT INTO ticket_notes (ticket_id, author, body, mentions) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at`, id, n.Author, n.Text, n.Mentions).Scan(&n.ID, &n.CreatedAt)
		if err != nil {
			return mapPgErr(err, "note")
		}
		ev := Event{Type: "note.created", TicketID: id, Version: t.Version + 1, Status: t.Status, AssigneeID: t.AssigneeID,
			GroupID: t.GroupID, Author: actor.ID, Mentions: n.Mentions}
		if err := notify(ctx, tx, ev); err != nil {
			return mapPgErr(err, "note event")
		}
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.note", id, map[string]any{"note": n.ID, "mentions": n.Mentions})
	})
	if err != nil {
		return Note{}, err
	}
	s.afterWrite(ctx, t)
	return n, nil
}

// notes lists a ticket's notes, oldest first.
func (s *TicketRecords) notes(ctx context.Context, ticketID string) ([]Note, error) {
	rows, err := s.primary.Query(ctx, `SELECT id, ticket_id, author, body, mentions, created_at,
			coalesce(merged_from::text, '') FROM ticket_notes
		WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, mapPgErr(err, "notes")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Note, error) {
		var n Note
		err := r.Scan(&n.ID, &n.TicketID, &n.Author, &n.Text, &n.Mentions, &n.CreatedAt, &n.MergedFrom)
		return n, err
	})
	return out, mapPgErr(err, "notes")
}

// mentionedOn reports a note on ticket id that mentions agentID.
func (s *TicketRecords) mentionedOn(ctx context.Context, id, agentID string) (bool, error) {
	var ok bool
	err := s.primary.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ticket_notes WHERE ticket_id = $1 AND mentions @> ARRAY[$2]::text[])`,
		id, agentID).Scan(&ok)
	return ok, mapPgErr(err, "notes")
}
