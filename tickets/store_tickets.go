package tickets

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EventChannel is the PostgreSQL NOTIFY channel that carries ticket events.
const EventChannel = "switchboard_events"

// Event tells every instance that a ticket changed. Updates are sent with
// NOTIFY inside the writing transaction, so they are delivered only after,
// and always after, the commit (other instances drop cached copies on
// them); a new ticket and new messages are announced right after commit.
type Event struct {
	Type         string `json:"type"` // ticket.created, ticket.updated, ticket.sla_breached, message.created, note.created, routing.weights, typing
	TicketID     string `json:"ticket_id"`
	Version      int64  `json:"version"`
	Status       Status `json:"status"`
	AssigneeID   string `json:"assignee_id,omitempty"`
	PrevAssignee string `json:"prev_assignee_id,omitempty"`
	GroupID      string `json:"group_id,omitempty"`
	// message.created events.
	ConversationID string `json:"conversation_id,omitempty"`
	MessageID      int64  `json:"message_id,omitempty"`
	Author         string `json:"author,omitempty"`
	// note.created events: the agents the note mentions.
	Mentions []string `json:"mentions,omitempty"`
	// ticket.updated events of a merged duplicate: the ticket it was merged into.
	MergedInto string `json:"merged_into,omitempty"`
}

const ticketCols = `id, customer_id, customer_name, customer_name_enc, conversation_id, subject, status, priority, skills,
	coalesce(group_id, ''), coalesce(assignee, ''), vip_tier, version, created_at, updated_at,
	first_response_due, resolution_due, claimed_at, first_response_at, resolved_at, closed_at,
	first_response_breached_at IS NOT NULL, resolution_breached_at IS NOT NULL, tags, handoff, coalesce(merged_into::text, ''),
	coalesce(origin_message_id, 0)`

// scanTicket reads ticketCols, opening the sealed customer name.
func (s *TicketRecords) scanTicket(row pgx.Row) (Ticket, error) {
	var t Ticket
	var nameEnc []byte
	err := row.Scan(&t.ID, &t.CustomerID, &t.CustomerName, &nameEnc, &t.ConversationID, &t.Subject, &t.Status,
		&t.Priority, &t.Skills, &t.GroupID, &t.AssigneeID, &t.VIPTier, &t.Version, &t.CreatedAt, &t.UpdatedAt,
		&t.FirstResponseDue, &t.ResolutionDue, &t.ClaimedAt, &t.FirstResponseAt, &t.ResolvedAt, &t.ClosedAt,
		&t.FirstResponseBreached, &t.ResolutionBreached, &t.Tags, &t.Handoff, &t.MergedInto, &t.OriginMessageID)
	if err != nil {
		return t, err
	}
	t.CustomerName, err = s.openName(t.CustomerName, nameEnc, ticketNameAAD(t.ID))
	return t, err
}

// queryTickets runs a query that selects ticketCols.
func (s *TicketRecords) queryTickets(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, what, sql string, args ...any) ([]Ticket, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapPgErr(err, what)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Ticket, error) { return s.scanTicket(r) })
	return out, mapPgErr(err, what)
}

func notify(ctx context.Context, tx pgx.Tx, ev Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, EventChannel, string(b))
	return err
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertTicket stores a new ticket (ID, timestamps and version are set
// here) and appends audit (may be nil) for it in one transaction, then
// announces it. The ticket is durable when it returns, unless deferFlush:
// then the caller's next synchronous commit makes it durable (see
// NewTicket.DeferFlush).
//
// The audit chain lock is held from the append to the end of the commit,
// and escalations come in bursts: each one waiting for the one before it to
// flush the WAL queued them all. So the ticket and the chain lock go in one
// pipelined batch (no NOTIFY in it: that waits for the notification queue
// lock at commit); the keyed audit event needs the head the lock protects,
// so it follows in one more round trip, with the commit, and the transaction
// commits without waiting for the flush, which releases the lock at once. The announcement right
// after is a transaction that commits synchronously: its commit record
// follows this one in the WAL, so when it returns the ticket and its audit
// event are flushed too. A crash before that loses only the end of the WAL
// (this ticket and whatever followed it), never a link in the middle of the
// chain, and nothing that was acknowledged.
func (s *TicketRecords) InsertTicket(ctx context.Context, t Ticket, audit *AuditEntry, deferFlush bool) (Ticket, error) {
	if t.ID == "" {
		t.ID = uuid.NewString()
	}
	if t.Skills == nil {
		t.Skills = []string{}
	}
	nameEnc, nameIdx, err := s.sealName(t.CustomerName, ticketNameAAD(t.ID))
	if err != nil {
		return Ticket{}, err
	}
	b := &pgx.Batch{}
	b.Queue(asyncCommit)
	b.Queue(`INSERT INTO tickets (id, customer_id, customer_name_enc, customer_name_bidx, conversation_id, subject, status,
			priority, skills, group_id, assignee, vip_tier, created_at, updated_at, first_response_due, resolution_due, queued_at, handoff,
			origin_message_id)
		VALUES ($1, $2, $3, $15, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $12, $16, nullif($17::bigint, 0))
		RETURNING `+ticketCols,
		t.ID, t.CustomerID, nameEnc, t.ConversationID, t.Subject, t.Status, t.Priority, t.Skills,
		nullIfEmpty(t.GroupID), nullIfEmpty(t.AssigneeID), t.VIPTier, t.CreatedAt, t.FirstResponseDue, t.ResolutionDue, nameIdx, t.Handoff,
		t.OriginMessageID)
	var event *AuditEvent
	if audit != nil {
		e, err := newAuditEvent(audit.Actor, audit.Action, t.ID, audit.Detail)
		if err != nil {
			return Ticket{}, err
		}
		event = &e
	}
	out, err := s.insertTicketBatch(ctx, b, event)
	if err != nil {
		return Ticket{}, mapPgErr(err, "ticket")
	}
	// Sent before anything else can change the ticket, so it stays ahead of
	// the ticket's later events.
	ev, _ := json.Marshal(Event{Type: "ticket.created", TicketID: out.ID, Version: out.Version, Status: out.Status, GroupID: out.GroupID})
	_, err = s.primary.Exec(context.WithoutCancel(ctx), `WITH async AS (
			SELECT set_config('synchronous_commit', 'off', true) WHERE $3::boolean)
		SELECT pg_notify($1, $2) FROM (VALUES (1)) AS one LEFT JOIN async ON true`, EventChannel, string(ev), deferFlush)
	if err != nil && !deferFlush {
		return Ticket{}, fmt.Errorf("ticket %s was stored but not confirmed durable: %w", out.ID, err)
	}
	return out, nil
}

// insertTicketBatch sends InsertTicket's batch: without audit it is one implicit
// transaction that commits after its last statement, or not at all. With audit the
// transaction takes two round trips on one connection: the first opens it, runs the
// batch and takes the chain lock reading the head; the second inserts the linked
// event (the chain's HMAC needs the head first) and commits. So the lock is held
// across one round trip, not three (the insert's, then the commit's), and a holder
// descheduled under CPU contention stalls the escalations behind it less.
func (s *TicketRecords) insertTicketBatch(ctx context.Context, b *pgx.Batch, audit *AuditEvent) (Ticket, error) {
	if audit == nil {
		br := s.primary.SendBatch(ctx, b)
		out, err := s.scanTicketBatch(br, nil)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return out, err
	}
	conn, err := s.primary.Acquire(ctx)
	if err != nil {
		return Ticket{}, err
	}
	defer conn.Release()
	out, err := s.auditedTicketTx(ctx, conn.Conn(), b, audit)
	if err != nil && conn.Conn().PgConn().TxStatus() != 'I' {
		// Still in the transaction (a statement failed): roll it back so the
		// connection can be reused; Release closes one that stays in it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(rctx, "ROLLBACK")
	}
	return out, err
}

// auditedTicketTx is insertTicketBatch's transaction with an audit event, through
// conn: BEGIN, b and the chain head in one round trip, then the event and COMMIT.
func (s *TicketRecords) auditedTicketTx(ctx context.Context, conn *pgx.Conn, b *pgx.Batch, audit *AuditEvent) (Ticket, error) {
	open := &pgx.Batch{QueuedQueries: append([]*pgx.QueuedQuery{{SQL: "BEGIN"}}, b.QueuedQueries...)}
	open.Queue(auditHeadSQL)
	br := conn.SendBatch(ctx, open)
	_, err := br.Exec() // BEGIN
	var out Ticket
	var prev []byte
	if err == nil {
		out, err = s.scanTicketBatch(br, &prev)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.linkAudit(audit, prev)
	}
	if err != nil {
		return Ticket{}, err
	}
	e := *audit
	done := &pgx.Batch{}
	done.Queue(insertAuditSQL, e.At, e.Actor, e.Action, e.Target, string(e.Detail), e.PrevHash, e.Hash, e.KeyID)
	done.Queue("COMMIT")
	br = conn.SendBatch(ctx, done)
	_, err = br.Exec()
	var tag pgconn.CommandTag
	if err == nil {
		tag, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err == nil && tag.String() != "COMMIT" {
		err = fmt.Errorf("ticket %s: the transaction ended with %s", out.ID, tag)
	}
	return out, err
}

// scanTicketBatch reads InsertTicket's results: the asynchronous commit, the ticket
// and, with prev, the audit chain head.
func (s *TicketRecords) scanTicketBatch(br pgx.BatchResults, prev *[]byte) (Ticket, error) {
	_, err := br.Exec()
	var out Ticket
	if err == nil {
		out, err = s.scanTicket(br.QueryRow())
	}
	if err == nil && prev != nil {
		err = br.QueryRow().Scan(prev)
	}
	return out, err
}

// GetTicket reads a ticket from the primary.
func (s *TicketRecords) GetTicket(ctx context.Context, id string) (Ticket, error) {
	if uuid.Validate(id) != nil {
		return Ticket{}, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	t, err := s.scanTicket(s.primary.QueryRow(ctx, `SELECT `+ticketCols+` FROM tickets WHERE id = $1`, id))
	return t, mapPgErr(err, "ticket "+id)
}

// UpdateTicket locks the ticket, lets fn change it, bumps its version and
// announces the change, all in one transaction. fn may also write through
// tx (messages, assignments) so everything commits together.
func (s *TicketRecords) UpdateTicket(ctx context.Context, id string, fn func(tx pgx.Tx, t *Ticket) error) (Ticket, Ticket, error) {
	if uuid.Validate(id) != nil {
		return Ticket{}, Ticket{}, fmt.Errorf("ticket %q: %w", id, ErrNotFound)
	}
	tx, err := s.primary.Begin(ctx)
	if err != nil {
		return Ticket{}, Ticket{}, mapPgErr(err, "ticket")
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after commit this is a no-op
	before, err := s.scanTicket(tx.QueryRow(ctx, `SELECT `+ticketCols+` FROM tickets WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return Ticket{}, Ticket{}, mapPgErr(err, "ticket "+id)
	}
	t := before
	if err := fn(tx, &t); err != nil {
		return Ticket{}, Ticket{}, err
	}
	after, err := s.saveTicketTx(ctx, tx, before, t)
	if err != nil {
		return Ticket{}, Ticket{}, err
	}
	return before, after, mapPgErr(tx.Commit(ctx), "ticket "+id)
}

// saveTicketTx writes t, a changed copy of before (locked FOR UPDATE in tx), bumps its
// version and announces the change (ticket.updated) in tx; it returns the ticket as
// stored.
func (s *TicketRecords) saveTicketTx(ctx context.Context, tx pgx.Tx, before, t Ticket) (Ticket, error) {
	row := tx.QueryRow(ctx, `UPDATE tickets SET status = $2, priority = $3, skills = $4, group_id = $5, assignee = $6,
			subject = $7, version = version + 1, updated_at = now(), claimed_at = $8, first_response_at = $9,
			resolved_at = $10, closed_at = $11, first_response_due = $12, resolution_due = $13,
			queued_at = CASE WHEN $2 = 'open' AND status <> 'open' THEN now() ELSE queued_at END, tags = $14,
			merged_into = $15
		WHERE id = $1 RETURNING `+ticketCols,
		t.ID, t.Status, t.Priority, t.Skills, nullIfEmpty(t.GroupID), nullIfEmpty(t.AssigneeID), t.Subject,
		t.ClaimedAt, t.FirstResponseAt, t.ResolvedAt, t.ClosedAt, t.FirstResponseDue, t.ResolutionDue, nonNilTags(t.Tags),
		nullIfEmpty(t.MergedInto))
	after, err := s.scanTicket(row)
	if err != nil {
		return Ticket{}, mapPgErr(err, "ticket "+t.ID)
	}
	ev := Event{Type: "ticket.updated", TicketID: after.ID, Version: after.Version, Status: after.Status,
		AssigneeID: after.AssigneeID, PrevAssignee: before.AssigneeID, GroupID: after.GroupID, MergedInto: after.MergedInto}
	if err := notify(ctx, tx, ev); err != nil {
		return Ticket{}, mapPgErr(err, "ticket event")
	}
	return after, nil
}

// InsertAssignment records an assignment and its score breakdown through tx.
func InsertAssignment(ctx context.Context, tx pgx.Tx, a Assignment) error {
	score, err := json.Marshal(a.Score)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO assignments (ticket_id, agent_id, group_id, reason, score) VALUES ($1, $2, $3, $4, $5)`,
		a.TicketID, a.AgentID, a.GroupID, a.Reason, score)
	return mapPgErr(err, "assignment")
}

// InsertMessageTx appends a message through tx and returns it with its id. It takes
// the conversation's row lock first (see lockConversation), held until tx ends.
func InsertMessageTx(ctx context.Context, tx pgx.Tx, m Message) (Message, error) {
	err := tx.QueryRow(ctx, lockConversation+` INSERT INTO messages (conversation_id, author, body) SELECT id, $2, $3 FROM conv
		RETURNING id, created_at`, m.ConversationID, m.Author, m.Text).Scan(&m.ID, &m.CreatedAt)
	return m, mapPgErr(err, "conversation "+m.ConversationID)
}

// lockConversation begins a statement that appends to conversation $1's log: it locks
// the conversation's row (FOR NO KEY UPDATE: foreign-key checks still pass) before the
// message takes its id, and the lock is held until the writing transaction ends. So
// within a conversation, message ids follow the commits: a reply queued (outbox) or a
// turn stored under a lower id is visible to whoever orders the sends of a higher one
// (ReplyDue, ClaimTurn, ClaimOutbound). Without it, an agent's reply could take its id
// before a customer's turn and commit after that turn's answer went out. Every insert
// into messages of a live conversation takes it (the inbound statement in its owner
// part, a bot's answer in RecordReply's batch): a web-chat session asks for the ids
// after the last it sent (MessagesAfter), so a message committed under a lower id than
// one already read would never reach it.
const lockConversation = `WITH conv AS (SELECT id FROM conversations WHERE id = $1 FOR NO KEY UPDATE)`

// Assignments lists a ticket's assignments, oldest first.
func (s *TicketRecords) Assignments(ctx context.Context, ticketID string) ([]Assignment, error) {
	rows, err := s.primary.Query(ctx, `SELECT ticket_id, agent_id, group_id, reason, score, created_at
		FROM assignments WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, mapPgErr(err, "assignments")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Assignment, error) {
		var a Assignment
		var score []byte
		if err := r.Scan(&a.TicketID, &a.AgentID, &a.GroupID, &a.Reason, &score, &a.CreatedAt); err != nil {
			return a, err
		}
		return a, json.Unmarshal(score, &a.Score)
	})
	return out, mapPgErr(err, "assignments")
}

const openBacklogQuery = `SELECT ` + ticketCols + ` FROM tickets WHERE status = 'open' ORDER BY created_at LIMIT $1`

// OpenBacklog lists open tickets, oldest first (served by
// the partial index tickets_open_idx).
func (s *TicketRecords) OpenBacklog(ctx context.Context, limit int) ([]Ticket, error) {
	return s.queryTickets(ctx, s.reads, "backlog", openBacklogQuery, limit)
}

// OpenForGroups lists open tickets waiting in any of groups or needing any
// of skills, oldest first.
func (s *TicketRecords) OpenForGroups(ctx context.Context, groups, skills []string, limit int) ([]Ticket, error) {
	return s.queryTickets(ctx, s.reads, "tickets", `SELECT `+ticketCols+` FROM tickets
		WHERE status = 'open' AND (group_id = ANY($1) OR skills && $2) ORDER BY created_at LIMIT $3`, groups, skills, limit)
}

// groupFigures are the ticket counts of one skill group (Service.Queues).
type groupFigures struct {
	waiting, assigned int
	oldestQueued      time.Time // of the waiting tickets
}

// queueFigures counts waiting and assigned tickets per group (the group a
// ticket is filed under) with the oldest queue entry of the waiting ones.
func (s *TicketRecords) queueFigures(ctx context.Context) (map[string]groupFigures, error) {
	rows, err := s.reads.Query(ctx, `SELECT coalesce(group_id, ''),
			count(*) FILTER (WHERE status = 'open'),
			count(*) FILTER (WHERE status IN ('assigned', 'pending')),
			coalesce(min(coalesce(queued_at, created_at)) FILTER (WHERE status = 'open'), now())
		FROM tickets WHERE status IN ('open', 'assigned', 'pending') GROUP BY 1`)
	if err != nil {
		return nil, mapPgErr(err, "queue figures")
	}
	out := map[string]groupFigures{}
	var g string
	var f groupFigures
	_, err = pgx.ForEachRow(rows, []any{&g, &f.waiting, &f.assigned, &f.oldestQueued}, func() error {
		out[g] = f
		return nil
	})
	return out, mapPgErr(err, "queue figures")
}

// ActiveTickets lists the tickets an agent holds (assigned or pending).
func (s *TicketRecords) ActiveTickets(ctx context.Context, agentID string) ([]Ticket, error) {
	return s.queryTickets(ctx, s.primary, "tickets", `SELECT `+ticketCols+` FROM tickets
		WHERE assignee = $1 AND status IN ('assigned', 'pending') ORDER BY created_at`, agentID)
}

// TicketsByID loads the given tickets (any order).
func (s *TicketRecords) TicketsByID(ctx context.Context, ids []string) ([]Ticket, error) {
	return s.queryTickets(ctx, s.primary, "tickets", `SELECT `+ticketCols+` FROM tickets WHERE id = ANY($1::uuid[])`, ids)
}

// BotSpokeSince reports whether the bot wrote in the conversation after since.
func (s *Conversations) BotSpokeSince(ctx context.Context, conversationID string, since time.Time) (bool, error) {
	var spoke bool
	err := s.primary.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM messages
		WHERE conversation_id = $1 AND created_at > $2 AND author = 'bot')`, conversationID, since).Scan(&spoke)
	return spoke, mapPgErr(err, "messages")
}

// OpenTicketFor returns the unresolved ticket of a conversation, if any.
func (s *TicketRecords) OpenTicketFor(ctx context.Context, conversationID string) (Ticket, error) {
	list, err := s.queryTickets(ctx, s.primary, "ticket", `SELECT `+ticketCols+` FROM tickets
		WHERE conversation_id = $1 AND status NOT IN ('resolved', 'closed') ORDER BY created_at DESC LIMIT 1`, conversationID)
	if err != nil {
		return Ticket{}, err
	}
	if len(list) == 0 {
		return Ticket{}, fmt.Errorf("open ticket of conversation %s: %w", conversationID, ErrNotFound)
	}
	return list[0], nil
}

// TicketForTurn returns the ticket the turn of customer message messageID (messages.id)
// escalated into, whatever its status now (ErrNotFound: none). A retried turn finds the
// ticket an earlier attempt committed with it.
func (s *TicketRecords) TicketForTurn(ctx context.Context, messageID int64) (Ticket, error) {
	t, err := s.scanTicket(s.primary.QueryRow(ctx, `SELECT `+ticketCols+` FROM tickets WHERE origin_message_id = $1`, messageID))
	return t, mapPgErr(err, fmt.Sprintf("ticket of message %d", messageID))
}

// likeEscaper escapes LIKE's wildcards (and its escape character) in a search text.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
