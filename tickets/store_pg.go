package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-cs/switchboard/internal/safe"
)

// FieldCrypter encrypts sensitive columns at rest and computes blind indexes
// for exact-match lookup. internal/fieldcrypt.KeyRing implements it.
type FieldCrypter interface {
	Encrypt(plaintext, aad []byte) ([]byte, error)
	Decrypt(ciphertext, aad []byte) ([]byte, error)
	BlindIndex(kind, value string) []byte
}

// Store is the PostgreSQL store of the ticket core. Writes go to the
// primary; list queries may go to a read replica (store_replica.go).
//
// It is split by aggregate: each embedded part (Conversations, TicketRecords,
// Queues, Accounts, AuditTrail, Vault) owns a set of tables and the operations on
// them, and all parts share one core: the pools, the field crypter, the audit
// chain's keys, the event announcer, the hold policy and the panic guard, with the
// steps several parts need. Every operation of a part is also an operation of the
// Store; a consumer that needs one part only can take just that field
// (store.Queues, …).
type Store struct {
	*storeCore
	*Conversations
	*TicketRecords
	*Queues
	*Accounts
	*AuditTrail
	*Vault
}

// storeCore is what every part of the Store shares: the connections, the crypter and
// the low-level steps several parts need (sealing customer fields, names and vault
// secrets, decoding a customer, linking audit events into the chain, announcing and
// listening for events, holding an agent's original). A part reaches another part's
// tables only through these or through an explicit field (the audit of Queues and
// Accounts).
type storeCore struct {
	primary *pgxpool.Pool
	reads   *replicaReads // the reads that may lag: the replica, guarded (store_replica.go)
	crypt   FieldCrypter
	chain   ChainKeys // the audit chain's keys: crypt, when it has them
	ann     announcer
	// How long agents' originals are held on pull channels (HoldOriginals).
	readGrace, retention time.Duration
	// panics recovers the store's background goroutines (GuardPanics).
	panics *safe.Guard
}

// Conversations owns customers (with their sealed contact fields), conversations and
// their messages (live, partitioned by month, and archived), inbound channel messages
// with their outcomes, the media stashed for queued turns and the agents' originals
// held for the customer's reads on pull channels.
type Conversations struct{ *storeCore }

// TicketRecords owns tickets and their assignments, agents, skill groups, SLA policies
// (with breach marking and SLA statistics), the routing weights and the consistent
// snapshot the router rebuilds from.
type TicketRecords struct{ *storeCore }

// Queues owns the durable queues: pending customer turns (channel_messages), the
// outbox of agents' replies to push channels, their dead letters and counts.
// Re-queueing dead letters is audited through audit.
type Queues struct {
	*storeCore
	audit *AuditTrail
}

// Accounts owns the staff sign-ins and the bearer-token revocations. Revocations are
// audited through audit.
type Accounts struct {
	*storeCore
	audit *AuditTrail
}

// AuditTrail owns the append-only, hash-chained audit log: appending (alone or with
// a change), listing and verifying it, and the anchors exported outside PostgreSQL.
type AuditTrail struct{ *storeCore }

// Vault owns revealing the token vault (the originals behind redacted placeholders,
// sealed by the writes that store them), sealing the display names left in plaintext
// and the names in the ticket cache, and re-encrypting every sealed column under the
// active key.
type Vault struct{ *storeCore }

// NewStore returns a Store. replica may be nil, then reads use primary. The audit
// chain is keyed from crypt, which must implement ChainKeys for audit appends.
func NewStore(primary, replica *pgxpool.Pool, crypt FieldCrypter) *Store {
	if replica == nil {
		replica = primary
	}
	chain, _ := crypt.(ChainKeys)
	core := &storeCore{primary: primary, reads: &replicaReads{primary: primary, replica: replica}, crypt: crypt, chain: chain, ann: announcer{linger: announceLinger}}
	audit := &AuditTrail{core}
	return &Store{storeCore: core, Conversations: &Conversations{core}, TicketRecords: &TicketRecords{core},
		Queues: &Queues{storeCore: core, audit: audit}, Accounts: &Accounts{storeCore: core, audit: audit},
		AuditTrail: audit, Vault: &Vault{core}}
}

// GuardPanics makes the store's background goroutines (the event listener's
// dispatch, the announcer, the archiver) report recovered panics through g.
// Call it before the store is used.
func (s *storeCore) GuardPanics(g *safe.Guard) { s.panics, s.ann.guard = g, g }

// Pool returns the primary pool.
func (s *storeCore) Pool() *pgxpool.Pool { return s.primary }

// Ping checks the primary. The read replica is PingReplica's: reads fall back to
// the primary while it is down.
func (s *storeCore) Ping(ctx context.Context) error {
	if err := s.primary.Ping(ctx); err != nil {
		return fmt.Errorf("postgres primary: %w", err)
	}
	return nil
}

// mapPgErr turns constraint violations, and connection failures (ErrUnavailable), into
// package sentinels.
func mapPgErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if IsUnavailable(err) && !errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return fmt.Errorf("%s already exists: %w", what, ErrConflict)
		case "23503":
			return fmt.Errorf("%s refers to something that does not exist (%s): %w", what, pe.ConstraintName, ErrInvalid)
		case "23514", "22P02", "22007", "22008", "22001", "22021", "54000":
			return fmt.Errorf("%s: %s: %w", what, pe.Message, ErrInvalid)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (s *storeCore) sealField(kind, id, value string) (enc, bidx []byte, err error) {
	if value == "" {
		return nil, nil, nil
	}
	enc, err = s.crypt.Encrypt([]byte(value), []byte("customers."+kind+":"+id))
	if err != nil {
		return nil, nil, fmt.Errorf("encrypt %s: %w", kind, err)
	}
	return enc, s.crypt.BlindIndex(kind, value), nil
}

func (s *storeCore) openField(kind, id string, enc []byte) (string, error) {
	if enc == nil {
		return "", nil
	}
	pt, err := s.crypt.Decrypt(enc, []byte("customers."+kind+":"+id))
	if err != nil {
		return "", fmt.Errorf("decrypt %s: %w", kind, err)
	}
	return string(pt), nil
}

// UpsertCustomer creates the customer with c.PseudonymousID or updates it:
// a non-empty display name replaces the stored one (contact fields are
// encrypted, bound to the customer id). setTier is a supervisor's write: only
// it sets the VIP tier (of a new customer too; otherwise a new customer gets
// tier 0) and replaces a stored email or phone; without it a non-empty email
// or phone only fills an empty field.
func (s *Conversations) UpsertCustomer(ctx context.Context, c Customer, setTier bool) (Customer, error) {
	if strings.TrimSpace(c.PseudonymousID) == "" {
		return Customer{}, fmt.Errorf("customer pseudonymous_id is required: %w", ErrInvalid)
	}
	if c.Email == "" && c.Phone == "" {
		// The common case (a known customer writes again): read, and write
		// only if something changes.
		known, err := s.scanCustomer(s.primary.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE pseudonymous_id = $1`, c.PseudonymousID))
		if err == nil && c.storedIn(known, setTier) {
			return known, nil
		}
	}
	var id string
	err := pgx.BeginFunc(ctx, s.primary, func(tx pgx.Tx) error {
		// Insert-or-keep first, then lock the row: concurrent first contacts
		// agree on one id, which the ciphertexts are bound to.
		_, err := tx.Exec(ctx, `INSERT INTO customers (id, pseudonymous_id, vip_tier)
			VALUES ($1, $2, CASE WHEN $4 THEN $3::int ELSE 0 END)
			ON CONFLICT (pseudonymous_id) DO NOTHING`, uuid.NewString(), c.PseudonymousID, c.VIPTier, setTier)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT id FROM customers WHERE pseudonymous_id = $1 FOR UPDATE`, c.PseudonymousID).Scan(&id); err != nil {
			return err
		}
		emailEnc, emailIdx, err := s.sealField("email", id, c.Email)
		if err != nil {
			return err
		}
		phoneEnc, phoneIdx, err := s.sealField("phone", id, c.Phone)
		if err != nil {
			return err
		}
		nameEnc, nameIdx, err := s.sealName(c.DisplayName, customerNameAAD(id))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE customers SET
				display_name = CASE WHEN $2::bytea IS NULL THEN display_name ELSE '' END,
				display_name_enc = coalesce($2, display_name_enc), display_name_bidx = coalesce($9, display_name_bidx),
				vip_tier = CASE WHEN $3 THEN $4 ELSE vip_tier END,
				email_enc = CASE WHEN $3 OR email_enc IS NULL THEN coalesce($5, email_enc) ELSE email_enc END,
				email_bidx = CASE WHEN $3 OR email_enc IS NULL THEN coalesce($6, email_bidx) ELSE email_bidx END,
				phone_enc = CASE WHEN $3 OR phone_enc IS NULL THEN coalesce($7, phone_enc) ELSE phone_enc END,
				phone_bidx = CASE WHEN $3 OR phone_enc IS NULL THEN coalesce($8, phone_bidx) ELSE phone_bidx END
			WHERE id = $1`, id, nameEnc, setTier, c.VIPTier, emailEnc, emailIdx, phoneEnc, phoneIdx, nameIdx)
		return err
	})
	if err != nil {
		return Customer{}, mapPgErr(err, "customer")
	}
	return s.GetCustomer(ctx, id)
}

// storedIn reports whether upserting c (with setTier) would leave known as
// it is.
func (c Customer) storedIn(known Customer, setTier bool) bool {
	return c.Email == "" && c.Phone == "" && (c.DisplayName == "" || c.DisplayName == known.DisplayName) &&
		(!setTier || c.VIPTier == known.VIPTier)
}

// ConversationOwner returns the customer a conversation belongs to.
func (s *Conversations) ConversationOwner(ctx context.Context, conversationID string) (string, error) {
	if uuid.Validate(conversationID) != nil {
		return "", fmt.Errorf("conversation %q: %w", conversationID, ErrNotFound)
	}
	var owner string
	err := s.primary.QueryRow(ctx, `SELECT customer_id FROM conversations WHERE id = $1`, conversationID).Scan(&owner)
	return owner, mapPgErr(err, "conversation "+conversationID)
}

const customerCols = `id, pseudonymous_id, display_name, vip_tier, email_enc, phone_enc, created_at, display_name_enc, crm`

func (s *storeCore) scanCustomer(row pgx.Row) (Customer, error) {
	var c Customer
	var emailEnc, phoneEnc, nameEnc []byte
	if err := row.Scan(&c.ID, &c.PseudonymousID, &c.DisplayName, &c.VIPTier, &emailEnc, &phoneEnc, &c.CreatedAt, &nameEnc, &c.CRM); err != nil {
		return Customer{}, mapPgErr(err, "customer")
	}
	var err error
	if c.DisplayName, err = s.openName(c.DisplayName, nameEnc, customerNameAAD(c.ID)); err != nil {
		return Customer{}, err
	}
	if c.Email, err = s.openField("email", c.ID, emailEnc); err != nil {
		return Customer{}, err
	}
	if c.Phone, err = s.openField("phone", c.ID, phoneEnc); err != nil {
		return Customer{}, err
	}
	return c, nil
}

// CustomerByRef loads the customer of a pseudonymous id (a channel's id for them), with
// decrypted contact fields.
func (s *Conversations) CustomerByRef(ctx context.Context, ref string) (Customer, error) {
	return s.scanCustomer(s.primary.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE pseudonymous_id = $1`, ref))
}

// GetCustomer loads a customer with decrypted contact fields.
func (s *Conversations) GetCustomer(ctx context.Context, id string) (Customer, error) {
	if uuid.Validate(id) != nil {
		return Customer{}, fmt.Errorf("customer %q: %w", id, ErrNotFound)
	}
	return s.scanCustomer(s.primary.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE id = $1`, id))
}

// FindCustomerByContact finds a customer by exact email or phone through the
// blind index; kind is "email" or "phone".
func (s *Conversations) FindCustomerByContact(ctx context.Context, kind, value string) (Customer, error) {
	var col string
	switch kind {
	case "email":
		col = "email_bidx"
	case "phone":
		col = "phone_bidx"
	default:
		return Customer{}, fmt.Errorf("contact kind %q (want email or phone): %w", kind, ErrInvalid)
	}
	return s.scanCustomer(s.reads.QueryRow(ctx,
		`SELECT `+customerCols+` FROM customers WHERE `+col+` = $1 LIMIT 1`, s.crypt.BlindIndex(kind, value)))
}

// CreateConversation opens a conversation for a customer on a channel.
func (s *Conversations) CreateConversation(ctx context.Context, customerID, channel string) (string, error) {
	id := uuid.NewString()
	_, err := s.primary.Exec(ctx, `INSERT INTO conversations (id, customer_id, channel) VALUES ($1, $2, $3)`,
		id, customerID, channel)
	return id, mapPgErr(err, "conversation")
}

// AddMessage appends a redacted message to a conversation.
func (s *Conversations) AddMessage(ctx context.Context, m Message) (Message, error) {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now()
	}
	err := s.primary.QueryRow(ctx, lockConversation+` INSERT INTO messages (conversation_id, author, body, created_at)
		SELECT id, $2, $3, $4 FROM conv RETURNING id`, m.ConversationID, m.Author, m.Text, m.CreatedAt).Scan(&m.ID)
	if err == nil {
		s.AnnounceMessage(ctx, m.ConversationID, m.ID, m.Author)
	}
	return m, mapPgErr(err, "message")
}

// AnnounceMessage tells every instance (web-chat sessions) that a message
// was committed. Call it after the commit: it queues the event and returns
// at once; the queue goes out in batches, one transaction per batch with
// one notification per up to 8 kB of events (see announcer, packEvents). A NOTIFY inside the writing transaction would
// serialize all such commits, and one transaction per event would still
// serialize them on the notification queue lock, a WAL flush each. A lost
// announcement delays a live push until the next one; nothing is lost from
// the conversation.
func (s *storeCore) AnnounceMessage(ctx context.Context, conversationID string, messageID int64, author string) {
	b, _ := json.Marshal(Event{Type: "message.created", ConversationID: conversationID, MessageID: messageID, Author: author})
	s.ann.add(ctx, string(b), s.notifyAll)
}

// notifyAll sends events on EventChannel in one transaction, packed into
// as few notifications as fit (packEvents; the listener reads a batch and a
// single event alike, and every replica of a deployment runs the same
// version). It commits without waiting for the WAL flush (asyncCommit): the
// events announce data that is already durable, and a NOTIFY transaction
// has an id of its own, so a synchronous commit would add a flush for
// nothing.
func (s *storeCore) notifyAll(ctx context.Context, payloads []string) error {
	_, err := s.primary.Exec(ctx, `WITH async AS (`+asyncCommit+`)
		SELECT pg_notify($1, p) FROM async, unnest($2::text[]) AS p`, EventChannel, packEvents(payloads, maxNotifyPayload))
	return err
}

// asyncCommit is a query that makes the transaction it runs in commit
// without waiting for its WAL to be flushed (synchronous_commit off for
// this transaction only; unlike SET LOCAL it also works in the implicit
// transaction of a single statement or a pipelined batch, without a
// warning). Such a commit can be lost in a crash, together with everything
// after it in the WAL and nothing before it; any later synchronous commit
// makes it durable.
const asyncCommit = `SELECT set_config('synchronous_commit', 'off', true)`

// MessagesAfter returns a conversation's live messages with id > after,
// oldest first: what a reconnecting web-chat session missed.
func (s *Conversations) MessagesAfter(ctx context.Context, conversationID string, after int64) ([]Message, error) {
	msgs, err := queryMessages(ctx, s.primary, `SELECT id, conversation_id, author, body, created_at FROM messages
		WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT 500`, conversationID, after)
	if err != nil {
		return nil, err
	}
	return msgs, withAttachments(ctx, s.primary, conversationID, msgs)
}

// queryMessages runs a query selecting id, conversation_id, author, body, created_at.
func queryMessages(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) ([]Message, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapPgErr(err, "messages")
	}
	msgs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) {
		var m Message
		err := r.Scan(&m.ID, &m.ConversationID, &m.Author, &m.Text, &m.CreatedAt)
		return m, err
	})
	return msgs, mapPgErr(err, "messages")
}

// ListMessages returns a conversation's messages, oldest first, including
// archived ones.
func (s *Conversations) ListMessages(ctx context.Context, conversationID string) ([]Message, error) {
	return conversationMessages(ctx, s.reads, conversationID)
}

// conversationMessages reads a conversation's messages through q (the replica's reads,
// or the primary), archived ones included, oldest first, with their attachments.
func conversationMessages(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, conversationID string) ([]Message, error) {
	msgs, err := queryMessages(ctx, q, `
		SELECT id, conversation_id, author, body, created_at FROM messages_archive WHERE conversation_id = $1
		UNION ALL
		SELECT id, conversation_id, author, body, created_at FROM messages WHERE conversation_id = $1
		ORDER BY created_at, id`, conversationID)
	if err != nil {
		return nil, err
	}
	return msgs, withAttachments(ctx, q, conversationID, msgs)
}
