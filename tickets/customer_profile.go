package tickets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// CustomerProfile is what an agent knows of the customer on a ticket: who they are on
// every channel they used (customer records that share a verified email or phone, found
// by their blind indexes), their tier, their recent conversations and tickets, and the
// ratings they gave. Contact details are masked; revealing one stays an audited act on a
// message (GET …/pii).
type CustomerProfile struct {
	Customer      ProfileCustomer       `json:"customer"`
	Identities    []ProfileCustomer     `json:"identities"` // the same person elsewhere (this record first)
	Channels      []ChannelUse          `json:"channels"`
	Conversations []ConversationSummary `json:"conversations"` // the latest maxProfileRows
	Tickets       []Ticket              `json:"tickets"`       // the latest maxProfileRows
	CSAT          []CSATRating          `json:"csat"`          // the latest maxProfileRows ratings
	CSATAverage   float64               `json:"csat_average"`  // over every rating (0: none)
	CSATCount     int                   `json:"csat_count"`
}

// ProfileCustomer is one customer record with its contact details masked.
type ProfileCustomer struct {
	ID             string     `json:"id"`
	PseudonymousID string     `json:"pseudonymous_id"`
	DisplayName    string     `json:"display_name"`
	VIPTier        int        `json:"vip_tier"`
	Email          string     `json:"email,omitempty"` // masked: w•••@example.com
	Phone          string     `json:"phone,omitempty"` // masked: •••5678
	CreatedAt      time.Time  `json:"created_at"`
	CRM            *CRMRecord `json:"crm,omitempty"` // what the CRM said of them
}

// ChannelUse is how a customer used one channel.
type ChannelUse struct {
	Channel       string    `json:"channel"`
	Conversations int       `json:"conversations"`
	FirstSeen     time.Time `json:"first_seen"`
	LastSeen      time.Time `json:"last_seen"`
}

// ConversationSummary is one of a customer's conversations.
type ConversationSummary struct {
	ID         string    `json:"id"`
	CustomerID string    `json:"customer_id"`
	Channel    string    `json:"channel"`
	StartedAt  time.Time `json:"started_at"`
	Messages   int       `json:"messages"`
}

// maxProfileRows bounds each list of a profile; maxIdentities the linked records.
const (
	maxProfileRows = 20
	maxIdentities  = 10
)

// CustomerProfile returns customer id's profile: to a supervisor always, to an agent when
// they may see one of that person's tickets (canSee).
func (s *Service) CustomerProfile(ctx context.Context, actor Actor, id string) (CustomerProfile, error) {
	cust, err := s.store.GetCustomer(ctx, id)
	if err != nil {
		return CustomerProfile{}, err
	}
	p, err := s.store.customerProfile(ctx, cust)
	if err != nil {
		return CustomerProfile{}, err
	}
	if actor.Supervisor {
		return p, nil
	}
	for _, t := range p.Tickets {
		err := s.canSee(ctx, actor, t)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, ErrForbidden) {
			return CustomerProfile{}, err
		}
	}
	return CustomerProfile{}, fmt.Errorf("customer %s has no ticket you hold or may see: %w", id, ErrForbidden)
}

// customerProfile reads the profile of cust and the records linked to it.
func (s *Store) customerProfile(ctx context.Context, cust Customer) (CustomerProfile, error) {
	p := CustomerProfile{Customer: profileCustomer(cust)}
	rows, err := s.reads.Query(ctx, `SELECT `+customerCols+` FROM customers o
		WHERE o.id = $1 OR EXISTS (SELECT 1 FROM customers c WHERE c.id = $1 AND (
			(c.email_bidx IS NOT NULL AND o.email_bidx = c.email_bidx) OR (c.phone_bidx IS NOT NULL AND o.phone_bidx = c.phone_bidx)))
		ORDER BY (o.id = $1) DESC, o.created_at LIMIT $2`, cust.ID, maxIdentities)
	if err != nil {
		return p, mapPgErr(err, "customer profile")
	}
	linked, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Customer, error) { return s.scanCustomer(r) })
	if err != nil {
		return p, mapPgErr(err, "customer profile")
	}
	ids := make([]string, 0, len(linked))
	for _, c := range linked {
		p.Identities = append(p.Identities, profileCustomer(c))
		ids = append(ids, c.ID)
	}
	if rows, err = s.reads.Query(ctx, `SELECT channel, count(*), min(created_at), max(created_at)
		FROM conversations WHERE customer_id = ANY($1) GROUP BY channel ORDER BY max(created_at) DESC`, ids); err != nil {
		return p, mapPgErr(err, "customer profile")
	}
	if p.Channels, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChannelUse, error) {
		var u ChannelUse
		return u, r.Scan(&u.Channel, &u.Conversations, &u.FirstSeen, &u.LastSeen)
	}); err != nil {
		return p, mapPgErr(err, "customer profile")
	}
	if rows, err = s.reads.Query(ctx, `SELECT c.id, c.customer_id, c.channel, c.created_at,
			(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) + (SELECT count(*) FROM messages_archive m WHERE m.conversation_id = c.id)
		FROM conversations c WHERE c.customer_id = ANY($1) ORDER BY c.created_at DESC LIMIT $2`, ids, maxProfileRows); err != nil {
		return p, mapPgErr(err, "customer profile")
	}
	if p.Conversations, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConversationSummary, error) {
		var c ConversationSummary
		return c, r.Scan(&c.ID, &c.CustomerID, &c.Channel, &c.StartedAt, &c.Messages)
	}); err != nil {
		return p, mapPgErr(err, "customer profile")
	}
	if p.Tickets, err = s.queryTickets(ctx, s.reads, "customer profile", `SELECT `+ticketCols+` FROM tickets
		WHERE customer_id = ANY($1) ORDER BY created_at DESC LIMIT $2`, ids, maxProfileRows); err != nil {
		return p, err
	}
	if rows, err = s.reads.Query(ctx, `SELECT ticket_id, agent_id, rating, comment, rated_at, requested_at FROM csat_ratings
		WHERE customer_id = ANY($1) AND rating IS NOT NULL ORDER BY rated_at DESC LIMIT $2`, ids, maxProfileRows); err != nil {
		return p, mapPgErr(err, "customer profile")
	}
	if p.CSAT, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CSATRating, error) {
		var e CSATRating
		return e, r.Scan(&e.TicketID, &e.AgentID, &e.Rating, &e.Comment, &e.RatedAt, &e.Asked)
	}); err != nil {
		return p, mapPgErr(err, "customer profile")
	}
	err = s.reads.QueryRow(ctx, `SELECT coalesce(avg(rating), 0)::float8, count(*) FROM csat_ratings
		WHERE customer_id = ANY($1) AND rating IS NOT NULL`, ids).Scan(&p.CSATAverage, &p.CSATCount)
	p.Channels, p.Conversations, p.Tickets, p.CSAT = nonNilRows(p.Channels), nonNilRows(p.Conversations), nonNilRows(p.Tickets), nonNilRows(p.CSAT)
	return p, mapPgErr(err, "customer profile")
}

func nonNilRows[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func profileCustomer(c Customer) ProfileCustomer {
	return ProfileCustomer{ID: c.ID, PseudonymousID: c.PseudonymousID, DisplayName: c.DisplayName, VIPTier: c.VIPTier,
		Email: maskEmail(c.Email), Phone: maskPhone(c.Phone), CreatedAt: c.CreatedAt, CRM: c.CRM}
}

// maskEmail keeps an address's first character and its domain: w•••@example.com.
func maskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		return maskPhone(e)
	}
	r, _ := utf8.DecodeRuneInString(e)
	return string(r) + "•••" + e[at:]
}

// maskPhone keeps a number's last four characters: •••5678.
func maskPhone(p string) string {
	if p == "" {
		return ""
	}
	r := []rune(p)
	if len(r) <= 4 {
		return "•••"
	}
	return "•••" + string(r[len(r)-4:])
}
