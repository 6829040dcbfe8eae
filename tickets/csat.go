package tickets

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// Customer satisfaction (CSAT). Resolving a ticket asks its customer, in the
// conversation, to rate the help from 1 to 5 (AuthorCSAT's message; the web-chat widget
// shows it as stars, which send the number). A message that is such a number, with an
// optional comment after it, within CSATWindow of the request is the rating (RateCSAT),
// answered with a thank-you instead of a bot turn.

// AuthorCSAT is the author of the rating request in a conversation.
const AuthorCSAT = "system:csat"

// CSATWindow is how long after the request a reply counts as the rating.
const CSATWindow = 7 * 24 * time.Hour

// csatPrompt asks for the rating in the customer's language.
func csatPrompt(lang string) string {
	if lang == "zh" {
		return "您的问题已解决。请为本次服务打分：回复 1（很差）到 5（很好），也可以在数字后写下意见。"
	}
	return "Your request has been resolved. How did we do? Reply with a number from 1 (poor) to 5 (excellent), and a comment after it if you like."
}

func csatThanks(lang string) string {
	if lang == "zh" {
		return "感谢您的评价！"
	}
	return "Thank you for your rating!"
}

// writtenIn is "zh" when text holds a Chinese character, else "en".
func writtenIn(text string) string {
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return "zh"
		}
	}
	return "en"
}

// requestCSATTx asks the customer of ticket t to rate it (once a ticket): the request
// row and the message in the conversation, queued to a push channel, commit with the
// resolution. It returns the message (ID 0 when the ticket was asked before).
func (s *Service) requestCSATTx(ctx context.Context, tx pgx.Tx, t *Ticket) (Message, error) {
	tag, err := tx.Exec(ctx, `INSERT INTO csat_ratings (ticket_id, customer_id, agent_id) VALUES ($1, $2, $3)
		ON CONFLICT (ticket_id) DO NOTHING`, t.ID, t.CustomerID, t.AssigneeID)
	if err != nil || tag.RowsAffected() == 0 {
		return Message{}, mapPgErr(err, "csat request")
	}
	var said []string
	rows, err := tx.Query(ctx, `SELECT body FROM messages WHERE conversation_id = $1 AND author = 'customer' ORDER BY id DESC LIMIT 5`,
		t.ConversationID)
	if err != nil {
		return Message{}, mapPgErr(err, "messages")
	}
	if said, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return Message{}, mapPgErr(err, "messages")
	}
	text := csatPrompt(writtenIn(strings.Join(said, " ")))
	m, err := InsertMessageTx(ctx, tx, Message{ConversationID: t.ConversationID, Author: AuthorCSAT, Text: text})
	if err != nil {
		return Message{}, err
	}
	return m, s.store.QueueReplyTx(ctx, tx, m, text)
}

// ratingRe reads a rating: a digit 1 to 5 alone or first ("5", "4/5", "5分", "5 stars,
// quick and kind"), then the comment.
var ratingRe = regexp.MustCompile(`(?is)^\s*([1-5])(?:\s*(?:/\s*5|分|颗星|星|stars?))?(?:\s*[,.，。!！:：;；-]+\s*|\s+|$)(.*?)\s*$`)

// CSATResult says whether a customer's message was a rating, and the answer to it.
type CSATResult struct {
	Rated    bool
	TicketID string
	Rating   int
	Reply    string
}

// RateCSAT takes the customer's message text (redacted) as the rating of their latest
// resolved ticket when it asked for one within CSATWindow and the text reads as a rating.
func (s *Service) RateCSAT(ctx context.Context, customerID, text string) (CSATResult, error) {
	m := ratingRe.FindStringSubmatch(text)
	if m == nil || customerID == "" || strings.ContainsAny(m[2], "?？") { // "5 working days?" asks something
		return CSATResult{}, nil
	}
	rating, _ := strconv.Atoi(m[1])
	var ticketID string
	err := s.store.primary.QueryRow(ctx, `UPDATE csat_ratings SET rating = $2, comment = $3, rated_at = now()
		WHERE ticket_id = (SELECT ticket_id FROM csat_ratings WHERE customer_id = $1 AND rating IS NULL AND requested_at > $4
			ORDER BY requested_at DESC LIMIT 1)
		RETURNING ticket_id`, customerID, rating, m[2], s.Now().Add(-CSATWindow)).Scan(&ticketID)
	if errors.Is(err, pgx.ErrNoRows) {
		return CSATResult{}, nil
	}
	if err != nil {
		return CSATResult{}, mapPgErr(err, "csat rating")
	}
	return CSATResult{Rated: true, TicketID: ticketID, Rating: rating, Reply: csatThanks(writtenIn(text))}, nil
}

// CSATRating is one ticket's rating.
type CSATRating struct {
	TicketID string     `json:"ticket_id"`
	AgentID  string     `json:"agent_id"`
	Rating   int        `json:"rating"`
	Comment  string     `json:"comment"`
	RatedAt  time.Time  `json:"rated_at"`
	Asked    *time.Time `json:"requested_at,omitempty"`
}

// CSATOf returns ticket id's rating (ErrNotFound when the customer has not rated it).
func (s *TicketRecords) CSATOf(ctx context.Context, id string) (CSATRating, error) {
	var r CSATRating
	err := s.primary.QueryRow(ctx, `SELECT ticket_id, agent_id, rating, comment, rated_at, requested_at FROM csat_ratings
		WHERE ticket_id = $1 AND rating IS NOT NULL`, id).Scan(&r.TicketID, &r.AgentID, &r.Rating, &r.Comment, &r.RatedAt, &r.Asked)
	return r, mapPgErr(err, fmt.Sprintf("rating of ticket %s", id))
}
