package tickets

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// eraseEntry removes one table's rows of the customer $1 (customers.id). The entries
// run in order in one transaction, children before the rows they point to. A table
// added later that holds a person's data gets one line here (and one in
// retentionEntries).
type eraseEntry struct {
	Table string
	SQL   string
}

// ofConversations selects the customer's conversations.
const ofConversations = `(SELECT id FROM conversations WHERE customer_id = $1)`

var eraseEntries = []eraseEntry{
	{"pii_vault", `DELETE FROM pii_vault WHERE conversation_id IN ` + ofConversations},
	{"stashed_media", `DELETE FROM stashed_media sm USING channel_messages cm
		WHERE cm.customer_id = $1 AND cm.channel = sm.channel AND cm.message_id = sm.message_id`},
	{"messages", `DELETE FROM messages WHERE conversation_id IN ` + ofConversations},
	{"messages_archive", `DELETE FROM messages_archive WHERE conversation_id IN ` + ofConversations},
	{"outbox", `DELETE FROM outbox WHERE conversation_id IN ` + ofConversations},
	{"ticket_attachments", `DELETE FROM ticket_attachments WHERE conversation_id IN ` + ofConversations},
	{"channel_messages", `DELETE FROM channel_messages WHERE customer_id = $1`},
	{"assignments", `DELETE FROM assignments WHERE ticket_id IN (SELECT id FROM tickets WHERE customer_id = $1)`},
	{"ticket_notes", `DELETE FROM ticket_notes WHERE ticket_id IN (SELECT id FROM tickets WHERE customer_id = $1)`},
	{"csat_ratings", `DELETE FROM csat_ratings WHERE customer_id = $1`},
	{"tickets", `DELETE FROM tickets WHERE customer_id = $1`},
	{"conversations", `DELETE FROM conversations WHERE customer_id = $1`},
	{"customers", `DELETE FROM customers WHERE id = $1`},
}

// EraseReport says what erasing one person removed.
type EraseReport struct {
	// Reference is the audit target: an HMAC (blind index) of the customer id, so the
	// audit log can later confirm "this id was erased" without naming the person.
	Reference string           `json:"reference"`
	Rows      map[string]int64 `json:"rows"`
	// RedisKeys counts the Redis keys removed (cache, routing, keys naming the person).
	RedisKeys int `json:"redis_keys"`
}

// erasedTicket is what the Redis clean-up needs of a removed ticket.
type erasedTicket struct {
	ID, Assignee string
	Status       Status
}

// EraseCustomer removes every trace of one person, named by customer id or
// pseudonymous id: messages (live and archived), vault entries, conversations, tickets
// and their assignments, queue rows, stashed media, the customer row with its blind
// indexes and sealed names, in one transaction audited as customer.erase (by a
// non-identifying reference); then the ticket cache, the routing state and Redis keys
// naming the person. Other instances drop their copies on the ticket.erased events.
func (s *Maintenance) EraseCustomer(ctx context.Context, actor, ref string) (EraseReport, error) {
	c, err := s.findCustomer(ctx, ref)
	if err != nil {
		return EraseReport{}, err
	}
	rep := EraseReport{Reference: s.store.erasureReference(c.ID), Rows: map[string]int64{}}
	var gone []erasedTicket
	err = pgx.BeginFunc(ctx, s.store.Pool(), func(tx pgx.Tx) error {
		if gone, err = lockCustomerTickets(ctx, tx, c.ID); err != nil {
			return err
		}
		for _, e := range eraseEntries {
			tag, err := tx.Exec(ctx, e.SQL, c.ID)
			if err != nil {
				return fmt.Errorf("erase %s: %w", e.Table, err)
			}
			rep.Rows[e.Table] = tag.RowsAffected()
		}
		for _, t := range gone {
			ev := Event{Type: "ticket.erased", TicketID: t.ID, Version: math.MaxInt64, Status: t.Status, AssigneeID: t.Assignee}
			if err := notify(ctx, tx, ev); err != nil {
				return err
			}
		}
		return s.store.appendAuditTx(ctx, tx, mustAuditEvent(actor, "customer.erase", "customer:"+rep.Reference, rep.Rows))
	})
	if err != nil {
		return EraseReport{}, mapPgErr(err, "erase customer")
	}
	for _, t := range gone {
		s.forgetTicket(ctx, t)
	}
	rep.RedisKeys, err = s.eraseRedisKeys(ctx, c, gone)
	return rep, err
}

// findCustomer resolves a customer id or a pseudonymous id.
func (s *Maintenance) findCustomer(ctx context.Context, ref string) (Customer, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return Customer{}, fmt.Errorf("a customer id or pseudonymous id is required: %w", ErrInvalid)
	}
	if uuid.Validate(ref) == nil {
		if c, err := s.store.GetCustomer(ctx, ref); err == nil || !errors.Is(err, ErrNotFound) {
			return c, err
		}
	}
	c, err := s.store.scanCustomer(s.store.primary.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE pseudonymous_id = $1`, ref))
	if errors.Is(err, ErrNotFound) {
		return Customer{}, fmt.Errorf("no customer with id or pseudonymous id %q: %w", ref, ErrNotFound)
	}
	return c, err
}

// erasureReference is the non-identifying reference of an erased customer.
func (s *Conversations) erasureReference(customerID string) string {
	return hex.EncodeToString(s.crypt.BlindIndex("customer.erase", customerID))[:32]
}

func mustAuditEvent(actor, action, target string, detail any) AuditEvent {
	e, err := newAuditEvent(actor, action, target, detail)
	if err != nil {
		panic(err) // detail is a map of counts: always marshals
	}
	return e
}

// lockCustomerTickets locks and lists the customer's tickets, those holding no agent's
// slot first: they must leave the wait sets before a released slot could pull them.
func lockCustomerTickets(ctx context.Context, tx pgx.Tx, customerID string) ([]erasedTicket, error) {
	rows, err := tx.Query(ctx, `SELECT id, coalesce(assignee, ''), status FROM tickets WHERE customer_id = $1
		ORDER BY (assignee IS NOT NULL AND status IN ('assigned', 'pending')), id FOR UPDATE`, customerID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (erasedTicket, error) {
		var t erasedTicket
		err := r.Scan(&t.ID, &t.Assignee, &t.Status)
		return t, err
	})
}

// forgetTicket drops an erased ticket from this instance's Redis: its cache entry, its
// place in a wait set, the agent slot it held (which may pull the next ticket).
func (s *Maintenance) forgetTicket(ctx context.Context, t erasedTicket) {
	if s.Cache != nil {
		if err := s.Cache.rdb.Del(ctx, s.Cache.keys(t.ID)...).Err(); err != nil {
			s.Log.Warn("erase: ticket cache", "err", err)
		}
	}
	if s.Router == nil {
		return
	}
	if err := s.Router.Forget(ctx, t.ID); err != nil && !errors.Is(err, ErrConflict) {
		s.Log.Warn("erase: forget waiting ticket", "err", err)
	}
	if t.Assignee == "" || t.Status == StatusResolved || t.Status == StatusClosed {
		return
	}
	pulled, err := s.Router.Release(ctx, t.Assignee, t.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.Log.Warn("erase: release agent slot", "err", err)
	}
	s.applyPulled(ctx, pulled)
}

// eraseRedisKeys deletes the keys that name the customer (rate limits and the like:
// "…:<id>" or "…:<id>:…", by customer id or pseudonymous id) and returns how many
// keys went, the erased tickets' cache entries included.
func (s *Maintenance) eraseRedisKeys(ctx context.Context, c Customer, gone []erasedTicket) (int, error) {
	if s.Cache == nil {
		return 0, nil
	}
	n := len(gone) * 2
	for _, id := range []string{c.ID, c.PseudonymousID} {
		for _, pattern := range []string{"*:" + globEscape(id), "*:" + globEscape(id) + ":*"} {
			m, err := scanDelete(ctx, s.Cache.rdb, pattern)
			n += m
			if err != nil {
				return n, fmt.Errorf("erase redis keys: %w", err)
			}
		}
	}
	return n, nil
}

// globEscape quotes Redis glob metacharacters.
func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// scanDelete deletes the keys matching pattern on every master.
func scanDelete(ctx context.Context, rdb redis.UniversalClient, pattern string) (int, error) {
	var n atomic.Int64
	del := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			m, err := c.Del(ctx, iter.Val()).Result()
			if err != nil {
				return err
			}
			n.Add(m)
		}
		return iter.Err()
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, del)
	case *redis.Client:
		err = del(ctx, c)
	default:
		err = fmt.Errorf("unsupported redis client %T", rdb)
	}
	return int(n.Load()), err
}
