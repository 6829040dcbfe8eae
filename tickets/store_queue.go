package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PendingTurn is a stored customer turn that still needs an answer.
type PendingTurn struct {
	Channel          string
	ChannelMessageID string
	ConversationID   string
	CustomerID       string
	CustomerRef      string
	MessageID        int64  // the turn's message in the conversation log
	Text             string // redacted
	ReplyTo          json.RawMessage
	Attempts         int
	Outcome          json.RawMessage // set when an earlier attempt answered but could not deliver
	Facts            TurnFacts       // what ingress learned of the turn's media
	// ReceivedAt is when the turn was stored, on this process's clock: the claim's time
	// less the wait PostgreSQL measured (so the clocks of the database and of this
	// process need not agree).
	ReceivedAt time.Time
}

// ClaimTurn leases the oldest pending turn for lease (FOR UPDATE SKIP
// LOCKED, so workers on any number of instances never take the same turn).
// A turn not yet answered is handed out at once; one whose answer waits for
// delivery only once no older turn of its conversation is pending and no
// agent's reply logged before it waits (see ReplyDue): a customer gets the
// replies in the order of the conversation, also after the channel failed for
// a while (a dead letter no longer holds the ones after it).
// ok is false when nothing is pending. A turn whose earlier attempts were
// abandoned maxAbandoned times (their lease ran out without a result: the
// worker crashed or hung) is not handed out again; GiveUpAbandoned makes it a
// dead letter.
func (s *Queues) ClaimTurn(ctx context.Context, lease time.Duration, maxAbandoned int) (PendingTurn, bool, error) {
	if maxAbandoned <= 0 {
		maxAbandoned = DefaultMaxAbandoned
	}
	var p PendingTurn
	var logID int64
	var outcome, facts []byte
	var waited float64 // seconds since the turn was stored, by the database's clock
	claimed := time.Now()
	err := s.primary.QueryRow(ctx, `WITH RECURSIVE `+pendingConversations("channel_messages")+`, heads AS (
			-- the oldest pending turn of each conversation
			SELECT h.* FROM convs CROSS JOIN LATERAL (
				SELECT channel, message_id, conversation_id, log_id, outcome, received_at, lease_until, attempts, attempts_settled, abandoned
				FROM channel_messages WHERE state = 'pending' AND conversation_id = convs.id ORDER BY log_id LIMIT 1) h
		), claimable AS (
			-- What can be claimed: a conversation's oldest pending turn (an answer to deliver
			-- also waits for the agents' pending replies logged before it: a customer gets the
			-- replies in the order of the conversation), and turns not yet answered wherever
			-- they are. Never the whole queue: behind a channel that was down it holds
			-- thousands of answered turns, each waiting for the one before it.
			SELECT channel, message_id, received_at FROM heads h
			WHERE (h.lease_until IS NULL OR h.lease_until < now()) AND NOT (h.attempts > h.attempts_settled AND h.abandoned + 1 >= $2)
				AND (h.outcome IS NULL OR h.log_id <= coalesce((SELECT min(o.message_id) FROM outbox o
					WHERE o.conversation_id = h.conversation_id AND o.state = 'pending'), h.log_id))
			UNION
			(SELECT channel, message_id, received_at FROM channel_messages WHERE state = 'pending' AND outcome IS NULL
				AND (lease_until IS NULL OR lease_until < now()) AND NOT (attempts > attempts_settled AND abandoned + 1 >= $2)
				ORDER BY received_at LIMIT 32)
		), next AS (
			-- the oldest of a few (each looked up by its key), locked; another worker's pick skipped
			SELECT c1.channel, c1.message_id FROM channel_messages c1
			WHERE (c1.channel, c1.message_id) IN (SELECT channel, message_id FROM claimable ORDER BY received_at LIMIT 32)
				AND c1.state = 'pending' AND (c1.lease_until IS NULL OR c1.lease_until < now())
			ORDER BY c1.received_at LIMIT 1 FOR UPDATE OF c1 SKIP LOCKED)
		UPDATE channel_messages cm SET lease_until = now() + $1 * interval '1 millisecond', attempts = attempts + 1,
			abandoned = abandoned + (attempts > attempts_settled)::int
		FROM next WHERE cm.channel = next.channel AND cm.message_id = next.message_id
		RETURNING cm.channel, cm.message_id, cm.conversation_id, cm.customer_id, cm.log_id, cm.attempts, cm.outcome, cm.facts,
			extract(epoch FROM now() - cm.received_at)::float8`,
		lease.Milliseconds(), maxAbandoned).Scan(&p.Channel, &p.ChannelMessageID, &p.ConversationID, &p.CustomerID, &logID, &p.Attempts, &outcome, &facts,
		&waited)
	if errors.Is(err, pgx.ErrNoRows) {
		return PendingTurn{}, false, nil
	}
	if err != nil {
		return PendingTurn{}, false, mapPgErr(err, "claim turn")
	}
	p.ReceivedAt = claimed.Add(-time.Duration(waited * float64(time.Second)))
	if p.Facts, err = scanFacts(facts); err != nil {
		return PendingTurn{}, false, err // the lease runs out and the turn is retried
	}
	var replyTo []byte
	err = s.primary.QueryRow(ctx, `SELECT m.body, cu.pseudonymous_id, c.reply_to
		FROM messages m JOIN conversations c ON c.id = m.conversation_id JOIN customers cu ON cu.id = c.customer_id
		WHERE m.id = $1 AND m.conversation_id = $2`, logID, p.ConversationID).Scan(&p.Text, &p.CustomerRef, &replyTo)
	p.ReplyTo, p.Outcome, p.MessageID = replyTo, outcome, logID
	if errors.Is(err, pgx.ErrNoRows) {
		// The turn's message is gone (archived or removed): give up on it
		// instead of retrying it forever.
		if _, ferr := s.FailTurn(ctx, p.Channel, p.ChannelMessageID, p.Attempts, err, RetryPolicy{MaxAttempts: 1}); ferr != nil {
			return PendingTurn{}, false, ferr
		}
		return PendingTurn{}, false, fmt.Errorf("turn %s/%s: its message is gone; given up: %w", p.Channel, p.ChannelMessageID, ErrNotFound)
	}
	if err != nil {
		return PendingTurn{}, false, mapPgErr(err, "claim turn") // the lease runs out and the turn is retried
	}
	return p, true, nil
}

// TurnReply is what RecordReply writes for one turn.
type TurnReply struct {
	Channel, ChannelMessageID string
	// Attempt fences the write: it applies only while the turn is this attempt's.
	Attempt        int
	ConversationID string
	// Text is the bot's reply, logged in the conversation when it is not empty.
	Text string
	// Outcome is stored (as JSON) as the turn's outcome.
	Outcome any
	// Done marks the turn answered: its reply needs no delivery, or was delivered.
	Done bool
}

// RecordReply logs the bot's reply in the conversation (when r.Text is not
// empty) and stores the turn's outcome, in one transaction; r.Done also marks
// the turn answered.
//
// r.Attempt fences the write: it applies only while the turn is still this
// attempt's (a worker that took over a stalled attempt wins); otherwise
// nothing is written and the error wraps ErrConflict. Both writes are one
// statement, the reply gated on the fenced update. It commits synchronously,
// and callers rely on that: it also makes a message stored with
// Inbound.DeferFlush durable before the turn is acknowledged.
func (s *Queues) RecordReply(ctx context.Context, r TurnReply) error {
	outcome, err := json.Marshal(r.Outcome)
	if err != nil {
		return err
	}
	// One statement, one round trip. The conversation's row lock comes before the
	// reply takes its id, as for every message insert (see lockConversation): without
	// it the reply could take its id before an agent's message that is still being
	// written and commit first, and a web-chat session that read the reply (and so
	// asks for ids after it) would never see that message. The reply's id is drawn
	// (reply) only for a turn the fenced update found, and the message is written only
	// when that update applied; the outcome keeps the id (reply_id), which orders it.
	var fenced bool
	var msgID int64
	err = s.primary.QueryRow(ctx, `WITH conv AS (
			SELECT id FROM conversations WHERE id = $6::uuid AND $7::text <> '' FOR NO KEY UPDATE
		), reply AS (
			SELECT nextval('messages_id_seq') AS id FROM conv
		), upd AS (
			UPDATE channel_messages SET outcome = $4::jsonb || coalesce((SELECT jsonb_build_object('reply_id', id) FROM reply), '{}'),
				state = CASE WHEN $5::boolean THEN 'done' ELSE state END,
				lease_until = CASE WHEN $5::boolean THEN NULL ELSE lease_until END
			WHERE channel = $1 AND message_id = $2 AND attempts = $3 AND state = 'pending'
			RETURNING 1
		), msg AS (
			INSERT INTO messages (id, conversation_id, author, body)
			SELECT reply.id, $6::uuid, 'bot', $7::text FROM reply WHERE EXISTS (SELECT 1 FROM upd)
			RETURNING id
		)
		SELECT EXISTS (SELECT 1 FROM upd), coalesce((SELECT id FROM msg), 0)`,
		r.Channel, r.ChannelMessageID, r.Attempt, outcome, r.Done, r.ConversationID, r.Text).Scan(&fenced, &msgID)
	if err != nil {
		return mapPgErr(err, "record reply")
	}
	if !fenced {
		return fmt.Errorf("turn %s/%s attempt %d was taken over: %w", r.Channel, r.ChannelMessageID, r.Attempt, ErrConflict)
	}
	if msgID != 0 {
		s.AnnounceMessage(ctx, r.ConversationID, msgID, "bot")
	}
	return nil
}

// ReleaseTurn hands a turn back to the queue at once: the receiver that leased it to
// answer it inline (attempt) stopped, having failed, so a worker need not wait for the
// lease to run out. The attempt counts as settled, not abandoned. A turn another
// attempt took over, or that is no longer pending, is left alone.
func (s *Queues) ReleaseTurn(ctx context.Context, channel, channelMessageID string, attempt int) error {
	_, err := s.primary.Exec(ctx, `UPDATE channel_messages SET lease_until = NULL, attempts_settled = attempts
		WHERE channel = $1 AND message_id = $2 AND attempts = $3 AND state = 'pending'`, channel, channelMessageID, attempt)
	return mapPgErr(err, "release turn")
}

// ExtendLease keeps a turn leased while its attempt is still at it (a heartbeat). It
// wraps ErrConflict when the turn is no longer the attempt's: another attempt took it
// over, or it was finished. The renewal commits without waiting for the WAL flush: a
// heartbeat lost in a database crash only shortens a lease, and it must not queue
// behind other commits' flushes, or a busy database would let a live attempt's lease run out.
func (s *Queues) ExtendLease(ctx context.Context, channel, channelMessageID string, attempt int, lease time.Duration) error {
	var held bool
	err := s.primary.QueryRow(ctx, `WITH async AS (
			SELECT set_config('synchronous_commit', 'off', true)
		), turn AS (
			UPDATE channel_messages SET lease_until = now() + $4 * interval '1 millisecond'
			WHERE channel = $1 AND message_id = $2 AND attempts = $3 AND state = 'pending'
			RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM turn) FROM async`, channel, channelMessageID, attempt, lease.Milliseconds()).Scan(&held)
	if err != nil {
		return mapPgErr(err, "extend lease")
	}
	if !held {
		return fmt.Errorf("turn %s/%s attempt %d: no longer this attempt's: %w", channel, channelMessageID, attempt, ErrConflict)
	}
	return nil
}

// TurnState is where a stored turn stands, as a redelivery of its message sees it.
type TurnState struct {
	State   string          // pending, done or failed
	Outcome json.RawMessage // the answer an attempt recorded (nil: none yet)
	// Leased: an attempt holds the turn (its lease has not run out); a pending turn
	// that is not leased waits for a queue worker.
	Leased bool
	// VoicePending: a voice note of the turn waits for the queue's transcription.
	VoicePending bool
}

// TurnState reads a stored turn's state, answer and lease (ErrNotFound: no such turn).
func (s *Queues) TurnState(ctx context.Context, channel, channelMessageID string) (TurnState, error) {
	var st TurnState
	var outcome, facts []byte
	err := s.primary.QueryRow(ctx, `SELECT state, outcome, coalesce(lease_until > now(), false), facts
		FROM channel_messages WHERE channel = $1 AND message_id = $2`, channel, channelMessageID).Scan(&st.State, &outcome, &st.Leased, &facts)
	if err != nil {
		return TurnState{}, mapPgErr(err, fmt.Sprintf("turn %s/%s", channel, channelMessageID))
	}
	f, err := scanFacts(facts)
	if err != nil {
		return TurnState{}, err
	}
	st.Outcome, st.VoicePending = outcome, f.VoicePending
	return st, nil
}

// CompleteTurn records the outcome of a processed turn. An outcome object keeps the
// reply_id RecordReply stored (a worker completes a turn with the outcome it decoded,
// which does not carry it): it names the logged reply, whose place is the turn's.
func (s *Queues) CompleteTurn(ctx context.Context, channel, channelMessageID string, attempt int, outcome any) error {
	b, err := json.Marshal(outcome)
	if err != nil {
		return err
	}
	// An outcome object keeps the id of the reply RecordReply logged (reply_id), which
	// places the answer in its conversation.
	_, err = s.primary.Exec(ctx, `UPDATE channel_messages SET state = 'done', lease_until = NULL, last_error = NULL,
			outcome = CASE WHEN jsonb_typeof($4::jsonb) = 'object' AND outcome ? 'reply_id'
				THEN $4::jsonb || jsonb_build_object('reply_id', outcome->'reply_id') ELSE $4::jsonb END,
			attempts_settled = attempts
		WHERE channel = $1 AND message_id = $2 AND attempts = $3`, channel, channelMessageID, attempt, b)
	return mapPgErr(err, "complete turn")
}

// FailTurn records a failed attempt: the turn is retried after policy's
// backoff, or, past its retry window or attempt limit, marked failed (dead
// is then true). cause's text is stored; it must not carry secrets.
func (s *Queues) FailTurn(ctx context.Context, channel, channelMessageID string, attempt int, cause error, policy RetryPolicy) (dead bool, err error) {
	policy = policy.WithDefaults()
	err = s.primary.QueryRow(ctx, `UPDATE channel_messages SET
			state = CASE WHEN ($3 > 0 AND attempts >= $3)
				OR coalesce(retry_since, received_at) + $6 * interval '1 millisecond' <= now() THEN 'failed' ELSE 'pending' END,
			lease_until = least(now() + $7 * interval '1 millisecond', coalesce(retry_since, received_at) + $6 * interval '1 millisecond'),
			last_error = $4, attempts_settled = attempts
		WHERE channel = $1 AND message_id = $2 AND attempts = $5 AND state = 'pending'
		RETURNING state = 'failed'`, channel, channelMessageID, policy.MaxAttempts, errorText(cause), attempt,
		policy.For.Milliseconds(), policy.Delay(attempt).Milliseconds()).Scan(&dead)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // another attempt took the turn over
	}
	return dead, mapPgErr(err, "fail turn")
}

// errorText is what a failed attempt leaves in last_error.
func errorText(cause error) string {
	msg := cause.Error()
	if len(msg) > 500 {
		msg = strings.ToValidUTF8(msg[:500], "")
	}
	return msg
}

// QueueStats counts turns by state.
func (s *Queues) QueueStats(ctx context.Context) (map[string]int, error) {
	rows, err := s.reads.Query(ctx, `SELECT state, count(*) FROM channel_messages GROUP BY state`)
	if err != nil {
		return nil, mapPgErr(err, "queue stats")
	}
	out := map[string]int{"pending": 0, "done": 0, "failed": 0}
	var state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error { out[state] = n; return nil })
	return out, mapPgErr(err, "queue stats")
}

// ReplyAddress returns where replies to a conversation go.
func (s *Conversations) ReplyAddress(ctx context.Context, conversationID string) (channel string, replyTo json.RawMessage, err error) {
	var b []byte
	err = s.primary.QueryRow(ctx, `SELECT channel, reply_to FROM conversations WHERE id = $1`, conversationID).Scan(&channel, &b)
	if err != nil {
		return "", nil, mapPgErr(err, fmt.Sprintf("conversation %s", conversationID))
	}
	return channel, b, nil
}

// RetryChannelNow makes the turns and replies of a channel that wait out a
// backoff after failed attempts due now (not those in flight, nor dead
// letters): the channel answered again, so waiting on is only delay. It
// returns how many rows it moved forward.
func (s *Queues) RetryChannelNow(ctx context.Context, channel string) (int64, error) {
	var n int64
	err := s.primary.QueryRow(ctx, `WITH t AS (
			UPDATE channel_messages SET lease_until = now()
			WHERE channel = $1 AND state = 'pending' AND attempts > 0 AND attempts = attempts_settled AND lease_until > now()
			RETURNING 1
		), o AS (
			UPDATE outbox SET lease_until = now()
			WHERE channel = $1 AND state = 'pending' AND attempts > 0 AND attempts = attempts_settled AND lease_until > now()
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM o)`, channel).Scan(&n)
	return n, mapPgErr(err, "retry channel now")
}

// ReplyDue reports whether the answer to the turn logged as logID may go out now:
// no older turn of its conversation is pending (answered or not) and no agent's
// reply logged before it waits for delivery. Otherwise the worker defers the
// turn (DeferTurn) and ClaimTurn hands it out again once it is due.
func (s *Queues) ReplyDue(ctx context.Context, conversationID string, logID int64) (bool, error) {
	var waits bool
	err := s.primary.QueryRow(ctx, `SELECT coalesce((SELECT min(log_id) FROM channel_messages WHERE conversation_id = $1 AND state = 'pending'), $2) < $2
		OR coalesce((SELECT min(message_id) FROM outbox WHERE conversation_id = $1 AND state = 'pending'), $2) < $2`, conversationID, logID).Scan(&waits)
	return !waits, mapPgErr(err, "reply due")
}

// DeferTurn puts an answered turn whose reply is not due yet back in the queue
// for after, without counting a failure.
func (s *Queues) DeferTurn(ctx context.Context, channel, channelMessageID string, attempt int, after time.Duration) error {
	_, err := s.primary.Exec(ctx, `UPDATE channel_messages SET lease_until = now() + $4 * interval '1 millisecond', attempts_settled = attempts
		WHERE channel = $1 AND message_id = $2 AND attempts = $3 AND state = 'pending'`, channel, channelMessageID, attempt, after.Milliseconds())
	return mapPgErr(err, "defer turn")
}

// pendingConversations is a recursive CTE, convs (id), of the conversations with a
// pending row in table (channel_messages or outbox): one probe of the table's
// pending-by-conversation index per conversation (a skip scan), however many rows each
// holds.
func pendingConversations(table string) string {
	return `convs AS (
			(SELECT conversation_id AS id FROM ` + table + ` WHERE state = 'pending' ORDER BY conversation_id LIMIT 1)
		UNION ALL
			SELECT (SELECT p.conversation_id FROM ` + table + ` p WHERE p.state = 'pending' AND p.conversation_id > convs.id
				ORDER BY p.conversation_id LIMIT 1)
			FROM convs WHERE convs.id IS NOT NULL
		)`
}
