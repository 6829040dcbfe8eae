//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// faultReport is what the invariant checker found after a scenario, against what the
// load generator recorded.
type faultReport struct {
	Scenario          string
	Seconds           float64
	Acked             int // customer messages acknowledged (REST 200, web chat "reply")
	Lost              int // acknowledged, not stored
	Duplicated        int // customer messages stored more than once
	Unfinished        int // stored turns not done (neither answered nor escalated)
	BotMismatch       int // conversations whose bot replies ≠ their done turns
	TicketsDoubled    int // conversations whose tickets ≠ the distinct tickets their escalated turns name
	EscalationsLost   int // acknowledged escalations without a ticket
	RepliesMissing    int // web chat: stored messages its customer never received
	RepliesDuplicated int // web chat: message frames received again (deduplicated by seq)
	Misplaced         int // open tickets not in exactly one place (a wait set or an agent's slot)
	LoadMismatch      int // agents whose slot count in Redis ≠ their open tickets in PostgreSQL
	AuditOK           bool
	PIIHits           int
	Stats             faultLoadStats
	// Recovery is the seconds from the fault to the last disturbed client's next success
	// or the last turn a dead replica held was answered, whichever is later.
	Recovery float64
	Note     string // what the scenario's fault did (e.g. the drain's length)
	Retaken  int    // turns answered by a second attempt (a queue worker, after a lease ran out)
	Telegram tgReport
	// MediaAcked are the acknowledged turns with a photo or voice note; of them
	// PhotosUnlabelled and VoicesUntranscribed were stored without what was in them (the
	// photo's label, a word of the voice note).
	MediaAcked, PhotosUnlabelled, VoicesUntranscribed int
}

// row is the scenario's one-line result (the table in docs/benchmarks.md).
func (r faultReport) row() string {
	return fmt.Sprintf("| %s | %d | %.0f/s | %d | %d | %d | %d | %d | %d | %d | %.1f s | audit ok %v, PII hits %d, unfinished %d, bot≠turns %d, "+
		"misplaced %d, load≠ %d, refused %d, reconnects %d (resumed %d), answered later %d, retaken by a worker %d, "+
		"media turns %d (photos unlabelled %d, voice notes untranscribed %d, stages failed open %v)%s |",
		r.Scenario, r.Acked, float64(r.Acked)/r.Seconds, r.Lost, r.Duplicated, r.RepliesDuplicated, r.RepliesMissing,
		r.TicketsDoubled+r.EscalationsLost, r.Stats.AcceptedFailed, r.Stats.Rejected, r.Recovery, r.AuditOK, r.PIIHits,
		r.Unfinished, r.BotMismatch, r.Misplaced, r.LoadMismatch, r.Stats.Refused, r.Stats.Reconnects, r.Stats.Resumed, r.Stats.AnsweredLater, r.Retaken,
		r.MediaAcked, r.PhotosUnlabelled, r.VoicesUntranscribed, r.Stats.Degraded, r.Telegram.String()+r.Note)
}

// failures lists the invariants r breaks; accepted failures are allowed only when a
// replica was killed (its in-flight requests die with it, and are retried).
func (r faultReport) failures(allowAcceptedFailures bool) []string {
	var out []string
	add := func(bad bool, f string, args ...any) {
		if bad {
			out = append(out, fmt.Sprintf(f, args...))
		}
	}
	add(r.Acked == 0, "nothing was acknowledged")
	add(r.Lost > 0, "%d acknowledged messages lost", r.Lost)
	add(r.Duplicated > 0, "%d messages stored twice", r.Duplicated)
	add(r.Unfinished > 0, "%d turns neither answered nor escalated", r.Unfinished)
	add(r.BotMismatch > 0, "%d conversations with bot replies ≠ turns", r.BotMismatch)
	add(r.TicketsDoubled > 0, "%d conversations whose tickets differ from their escalated turns' tickets", r.TicketsDoubled)
	add(r.EscalationsLost > 0, "%d acknowledged escalations without a ticket", r.EscalationsLost)
	add(r.RepliesMissing > 0, "%d messages never reached their web-chat customer", r.RepliesMissing)
	add(r.Misplaced > 0, "%d open tickets not in exactly one place", r.Misplaced)
	add(r.LoadMismatch > 0, "%d agents' slot counts differ from their open tickets", r.LoadMismatch)
	add(r.Telegram.Missing > 0, "%d replies never reached their Telegram chat", r.Telegram.Missing)
	add(r.Telegram.OutOfOrder > 0, "%d Telegram replies arrived out of their place, in %d chats", r.Telegram.Reordered, r.Telegram.OutOfOrder)
	add(r.Telegram.Pending > 0 || r.Telegram.Failed > 0, "Telegram turns and replies left: %d pending, %d dead letters", r.Telegram.Pending, r.Telegram.Failed)
	add(!r.AuditOK, "the audit chain does not verify")
	add(r.PIIHits > 0, "raw PII found %d times", r.PIIHits)
	add(r.Stats.Rejected > 0, "%d requests rejected (4xx)", r.Stats.Rejected)
	// A voice note the speech stage could not transcribe in time (all recognizers busy, or
	// its deadline passed: the CPU starved) is stored untranscribed by design (it fails
	// open): the row reports it, no scenario injects it. A photo is labelled in
	// milliseconds: an unlabelled one is a fault.
	add(r.PhotosUnlabelled > 0, "%d photos stored without their label", r.PhotosUnlabelled)
	add(r.Stats.Degraded["vision"] > 0, "%d photo turns answered with the vision stage failed open", r.Stats.Degraded["vision"])
	add(!allowAcceptedFailures && r.Stats.AcceptedFailed > 0, "%d accepted requests failed", r.Stats.AcceptedFailed)
	return out
}

var midInText = regexp.MustCompile(`\[(m-[a-z0-9-]+)\]`)

// check compares PostgreSQL and Redis with what the load recorded.
func (l *faultLoad) check(t *testing.T, scenario string, took time.Duration) faultReport {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, l.c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	rep := faultReport{Scenario: scenario, Seconds: took.Seconds(), Stats: l.stats}
	done, retaken := turnsDone(t, ctx, conn)
	rep.Retaken = retaken
	if fault := l.faultAt.Load(); fault != 0 {
		at := time.Unix(0, fault)
		rep.Recovery = max(0, l.stats.RecoveredAt.Sub(at).Seconds(), done.Sub(at).Seconds())
	}
	stored := map[string]int{}    // message id → customer messages holding it
	bodies := map[string]string{} // message id → its stored text
	rows, _ := conn.Query(ctx, `SELECT body FROM messages WHERE author = 'customer'`)
	var body string
	_, err = pgx.ForEachRow(rows, []any{&body}, func() error {
		if m := midInText.FindStringSubmatch(body); m != nil {
			stored[m[1]]++
			bodies[m[1]] = body
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range l.sessions {
		rep.Acked += len(s.Acked)
		for _, mid := range s.Acked {
			if stored[mid] == 0 {
				rep.Lost++
			}
		}
	}
	for _, n := range stored {
		rep.Duplicated += max(0, n-1)
	}
	l.checkTurns(t, ctx, conn, &rep)
	l.checkMedia(t, bodies, &rep)
	l.checkReplies(t, ctx, conn, &rep)
	rep.Telegram = l.checkTelegram(t, ctx, conn, l.tgResent)
	rep.RepliesDuplicated += rep.Telegram.Duplicated
	l.checkTickets(t, ctx, conn, &rep)
	rep.AuditOK = auditVerifies(t)
	rdb := l.c.redisClient()
	defer rdb.Close()
	rep.PIIHits = piiHits(t, ctx, conn, rdb, l.c.prefix)
	return rep
}

// turnsDone waits (faultLeaseWait at most) until no stored turn is pending, and returns
// when the last turn answered by a second attempt (its first one died with a replica;
// a queue worker took it over once the lease ran out) was answered, and how many there
// were.
func turnsDone(t *testing.T, ctx context.Context, conn *pgx.Conn) (time.Time, int) {
	for deadline := time.Now().Add(faultLeaseWait); ; time.Sleep(200 * time.Millisecond) {
		var pending int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM channel_messages WHERE state = 'pending'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
	}
	// The turns and bot messages of the conversations with a retaken turn.
	rows, _ := conn.Query(ctx, `SELECT conversation_id::text, log_id, attempts > 1, coalesce(outcome->>'reply', '') FROM channel_messages
		WHERE conversation_id IN (SELECT conversation_id FROM channel_messages WHERE attempts > 1) ORDER BY log_id`)
	turns, err := pgx.CollectRows(rows, pgx.RowToStructByPos[storedTurn])
	if err != nil {
		t.Fatal(err)
	}
	rows, _ = conn.Query(ctx, `SELECT conversation_id::text, id, body, created_at FROM messages WHERE author = 'bot'
		AND conversation_id IN (SELECT conversation_id FROM channel_messages WHERE attempts > 1) ORDER BY id`)
	bots, err := pgx.CollectRows(rows, pgx.RowToStructByPos[botMessage])
	if err != nil {
		t.Fatal(err)
	}
	return retakenAnswered(turns, bots)
}

// storedTurn and botMessage are the rows retakenAnswered matches.
type storedTurn struct {
	Conv    string
	LogID   int64
	Retaken bool
	Reply   string
}

type botMessage struct {
	Conv string
	ID   int64
	Body string
	At   time.Time
}

// retakenAnswered returns when the last retaken turn's answer was written, and how many
// turns were retaken. A turn's answer is a bot message of its conversation after the
// turn with its outcome's reply, but not simply the first such: the customer of a turn
// acknowledged without its answer goes on, and later turns' answers (often the same
// FAQ text) come before the retaken one's. So the turns answered first take theirs
// (the first unclaimed match after each), then the retaken turns take theirs.
func retakenAnswered(turns []storedTurn, bots []botMessage) (time.Time, int) {
	taken := map[int64]bool{}
	claim := func(tr storedTurn) (time.Time, bool) {
		for _, b := range bots {
			if b.Conv == tr.Conv && b.ID > tr.LogID && b.Body == tr.Reply && !taken[b.ID] {
				taken[b.ID] = true
				return b.At, true
			}
		}
		return time.Time{}, false
	}
	for _, tr := range turns {
		if !tr.Retaken {
			claim(tr)
		}
	}
	var last time.Time
	n := 0
	for _, tr := range turns {
		if tr.Retaken {
			n++
			if at, ok := claim(tr); ok && at.After(last) {
				last = at
			}
		}
	}
	return last, n
}

// checkTurns: every stored turn done; per conversation, one bot message per turn (per
// turn the bot answered, on Telegram, whose chats go on while an agent has them) and
// one ticket per distinct ticket its escalated turns name; every acknowledged
// escalation has its ticket.
func (l *faultLoad) checkTurns(t *testing.T, ctx context.Context, conn *pgx.Conn, rep *faultReport) {
	err := conn.QueryRow(ctx, `SELECT count(*) FROM channel_messages WHERE state <> 'done'`).Scan(&rep.Unfinished)
	if err != nil {
		t.Fatal(err)
	}
	// A conversation may be escalated again after its ticket was resolved: it must hold
	// one ticket per distinct ticket its escalated turns' outcomes name.
	escalations := map[string]int{}
	erows, _ := conn.Query(ctx, `SELECT conversation_id::text, count(DISTINCT outcome->>'ticket_id') FROM channel_messages
		WHERE (outcome->>'escalated')::boolean GROUP BY 1`)
	var econv string
	var en int
	if _, err := pgx.ForEachRow(erows, []any{&econv, &en}, func() error { escalations[econv] = en; return nil }); err != nil {
		t.Fatal(err)
	}
	rows, _ := conn.Query(ctx, `SELECT c.conversation_id::text, c.turns, coalesce(b.n, 0), coalesce(k.n, 0)
		FROM (SELECT conversation_id, count(*) AS turns FROM channel_messages
			-- a Telegram chat goes on while an agent has it, and the bot stays out (no reply)
			WHERE channel <> 'telegram' OR coalesce(outcome->>'reply', '') <> '' GROUP BY 1) c
		LEFT JOIN (SELECT conversation_id, count(*) AS n FROM messages WHERE author = 'bot' GROUP BY 1) b USING (conversation_id)
		LEFT JOIN (SELECT conversation_id, count(*) AS n FROM tickets GROUP BY 1) k USING (conversation_id)`)
	var conv string
	var turns, bots, tks int
	tickets := map[string]int{}
	var explain []string
	_, err = pgx.ForEachRow(rows, []any{&conv, &turns, &bots, &tks}, func() error {
		if bots != turns {
			rep.BotMismatch++
			if rep.BotMismatch <= 3 {
				t.Logf("conversation %s: %d turns, %d bot messages", conv, turns, bots)
			}
		}
		if tks != escalations[conv] {
			rep.TicketsDoubled++
			if rep.TicketsDoubled <= 2 {
				explain = append(explain, conv)
			}
		}
		tickets[conv] = tks
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, conv := range explain {
		logConversation(t, ctx, conn, conv)
	}
	for _, s := range l.sessions {
		if s.Escalated && tickets[s.Conv] == 0 {
			rep.EscalationsLost++
		}
	}
}

// checkReplies: every message of a web-chat conversation reached its customer, at
// least once; repeats are counted (the client deduplicates by seq).
func (l *faultLoad) checkReplies(t *testing.T, ctx context.Context, conn *pgx.Conn, rep *faultReport) {
	for _, s := range l.sessions {
		for _, n := range s.Seqs {
			rep.RepliesDuplicated += n - 1
		}
		if !s.WS || s.Conv == "" {
			continue
		}
		rows, _ := conn.Query(ctx, `SELECT id, author, created_at FROM messages WHERE conversation_id = $1 ORDER BY id`, s.Conv)
		var id int64
		var author string
		var at time.Time
		_, err := pgx.ForEachRow(rows, []any{&id, &author, &at}, func() error {
			if s.Seqs[id] == 0 {
				rep.RepliesMissing++
				if rep.RepliesMissing <= 3 {
					t.Logf("%s never received message %d (%s, written %s; its last frame came %s) of %s", s.Subject, id, author,
						at.Format("15:04:05.000"), s.lastFrame.Format("15:04:05.000"), s.Conv)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// checkTickets: every open ticket is in exactly one place in Redis — a wait set, or
// the slot of the agent PostgreSQL says holds it — and every agent's load in Redis is
// the number of tickets PostgreSQL says it holds. A routing decision is recorded in
// PostgreSQL a moment after Redis: like the reconciler, only a difference found again,
// unchanged, 2 s later counts.
func (l *faultLoad) checkTickets(t *testing.T, ctx context.Context, conn *pgx.Conn, rep *faultReport) {
	first := l.ticketDrift(t, ctx, conn)
	if len(first) == 0 {
		return
	}
	time.Sleep(2 * time.Second)
	for _, d := range l.ticketDrift(t, ctx, conn) {
		if !slices.Contains(first, d) {
			continue
		}
		t.Log(d)
		if strings.HasPrefix(d, "agent ") {
			rep.LoadMismatch++
		} else {
			rep.Misplaced++
		}
	}
}

// ticketDrift lists the differences between the routing state in Redis and PostgreSQL.
func (l *faultLoad) ticketDrift(t *testing.T, ctx context.Context, conn *pgx.Conn) []string {
	rdb := l.c.redisClient()
	defer rdb.Close()
	tag := "{" + l.c.prefix + "}:"
	asg, err := rdb.HGetAll(ctx, tag+"asg").Result()
	if err != nil {
		t.Fatal(err)
	}
	places := map[string]int{}
	for tk := range asg {
		places[tk]++
	}
	groups, _ := rdb.SMembers(ctx, tag+"groups").Result()
	for _, g := range groups {
		waiting, _ := rdb.ZRange(ctx, tag+"wait:"+g, 0, -1).Result()
		for _, tk := range waiting {
			places[tk]++
		}
	}
	rows, _ := conn.Query(ctx, `SELECT id::text, status, coalesce(assignee, '') FROM tickets WHERE status IN ('open', 'assigned', 'pending')`)
	var id, status, assignee string
	held := map[string]int{}
	open := map[string]bool{}
	var drift []string
	_, err = pgx.ForEachRow(rows, []any{&id, &status, &assignee}, func() error {
		open[id] = true
		if assignee != "" {
			held[assignee]++
		}
		agent, _, _ := strings.Cut(asg[id], ",")
		if places[id] != 1 || agent != assignee {
			drift = append(drift, fmt.Sprintf("ticket %s (%s, assignee %q): %d places in Redis, slot of %q", id, status, assignee, places[id], agent))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for tk := range places {
		if !open[tk] {
			drift = append(drift, fmt.Sprintf("ticket %s is in Redis but not open in PostgreSQL", tk))
		}
	}
	agents, _ := rdb.SMembers(ctx, tag+"agents").Result()
	for _, a := range agents {
		load, _ := rdb.HGet(ctx, tag+"a:"+a, "load").Int()
		if load != held[a] {
			drift = append(drift, fmt.Sprintf("agent %s: load %d in Redis, %d open tickets in PostgreSQL", a, load, held[a]))
		}
	}
	return drift
}

// auditVerifies runs `switchboard audit verify` on the cluster's database.
func auditVerifies(t *testing.T) bool {
	root := rootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"audit", "verify"})
	if err := root.Execute(); err != nil {
		t.Logf("audit verify: %v\n%s", err, out.String())
		return false
	}
	return true
}

// piiHits counts the fake phone number and e-mail address the load sent, in any text
// or JSON column of any table, and in any string or hash value under the Redis prefix
// (on every master of a cluster).
func piiHits(t *testing.T, ctx context.Context, conn *pgx.Conn, rdb redis.UniversalClient, prefix string) int {
	needles := []string{"555 0134", "5550134", "555-0134", "jane.fake.customer"}
	// tables (a partitioned one once, not again through its partitions), not views
	rows, _ := conn.Query(ctx, `SELECT c.table_name, c.column_name FROM information_schema.columns c
		JOIN pg_class k ON k.relname = c.table_name AND k.relnamespace = 'public'::regnamespace
		WHERE c.table_schema = 'public' AND k.relkind IN ('r', 'p') AND NOT k.relispartition
		AND c.data_type IN ('text', 'jsonb', 'json', 'character varying')`)
	type col struct{ table, column string }
	var cols []col
	var c col
	if _, err := pgx.ForEachRow(rows, []any{&c.table, &c.column}, func() error { cols = append(cols, c); return nil }); err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s::text ILIKE ANY($1)`, pgx.Identifier{c.table}.Sanitize(), pgx.Identifier{c.column}.Sanitize())
		pats := make([]string, len(needles))
		for i, s := range needles {
			pats[i] = "%" + s + "%"
		}
		if err := conn.QueryRow(ctx, q, pats).Scan(&n); err != nil {
			t.Fatalf("%s.%s: %v", c.table, c.column, err)
		}
		if n > 0 {
			t.Logf("raw PII in %s.%s: %d rows", c.table, c.column, n)
		}
		hits += n
	}
	var redisHits atomic.Int64
	err := forEachRedisNode(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		n, err := piiHitsOn(t, ctx, node, prefix, needles)
		redisHits.Add(int64(n))
		return err
	})
	if err != nil {
		t.Fatalf("scan Redis for PII: %v", err)
	}
	return hits + int(redisHits.Load())
}

// piiHitsOn counts needles in the string and hash values under prefix on one Redis
// server.
func piiHitsOn(t *testing.T, ctx context.Context, rdb *redis.Client, prefix string, needles []string) (int, error) {
	hits := 0
	iter := rdb.Scan(ctx, 0, "*"+prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		var vals []string
		switch typ, _ := rdb.Type(ctx, key).Result(); typ {
		case "string":
			v, _ := rdb.Get(ctx, key).Result()
			vals = []string{v}
		case "hash":
			m, _ := rdb.HGetAll(ctx, key).Result()
			for k, v := range m {
				vals = append(vals, k, v)
			}
		}
		for _, v := range vals {
			for _, s := range needles {
				if strings.Contains(strings.ToLower(v), s) {
					hits++
					t.Logf("raw PII in Redis key %s", key)
				}
			}
		}
	}
	return hits, iter.Err()
}

// logConversation logs a conversation's messages and tickets (to explain a finding).
func logConversation(t *testing.T, ctx context.Context, conn *pgx.Conn, conv string) {
	rows, _ := conn.Query(ctx, `SELECT id, author, left(body, 60), created_at FROM messages WHERE conversation_id = $1 ORDER BY id`, conv)
	var id int64
	var author, body string
	var at time.Time
	pgx.ForEachRow(rows, []any{&id, &author, &body, &at}, func() error {
		t.Logf("  %s message %d %s %s: %q", conv, id, at.Format("15:04:05.000"), author, body)
		return nil
	})
	rows, _ = conn.Query(ctx, `SELECT id::text, status, coalesce(assignee, ''), created_at FROM tickets WHERE conversation_id = $1 ORDER BY created_at`, conv)
	var tk, status, assignee string
	pgx.ForEachRow(rows, []any{&tk, &status, &assignee, &at}, func() error {
		t.Logf("  %s ticket %s %s %s %s", conv, tk, at.Format("15:04:05.000"), status, assignee)
		return nil
	})
}

// TestRetakenAnsweredMatchesEachTurnItsOwnAnswer: the answer of a retaken turn is
// found after the answers of the turns its customer sent meanwhile.
func TestRetakenAnsweredMatchesEachTurnItsOwnAnswer(t *testing.T) {
	at := func(s int) time.Time { return time.Date(2026, 12, 7, 17, 0, s, 0, time.UTC) }
	const refund, password = "Refunds arrive within 5 working days. [1]", "Use the Forgot password link on the sign-in page. [1]"
	for _, tc := range []struct {
		name  string
		turns []storedTurn
		bots  []botMessage
		want  time.Time
		n     int
	}{
		{"none retaken", []storedTurn{{"c", 1, false, refund}}, []botMessage{{"c", 2, refund, at(1)}}, time.Time{}, 0},
		{"answered before the customer went on", []storedTurn{{"c", 1, true, refund}, {"c", 3, false, refund}},
			[]botMessage{{"c", 2, refund, at(4)}, {"c", 4, refund, at(5)}}, at(4), 1},
		{"answered after the customer went on (same reply text)", []storedTurn{{"c", 1, true, refund}, {"c", 2, false, refund}, {"c", 4, false, password}},
			[]botMessage{{"c", 3, refund, at(1)}, {"c", 5, password, at(2)}, {"c", 6, refund, at(30)}}, at(30), 1},
		{"the last of two conversations", []storedTurn{{"c", 1, true, refund}, {"d", 2, true, password}},
			[]botMessage{{"c", 3, refund, at(3)}, {"d", 4, password, at(4)}}, at(4), 2},
		{"a retaken turn without its answer", []storedTurn{{"c", 1, true, refund}}, []botMessage{{"c", 2, password, at(3)}}, time.Time{}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, n := retakenAnswered(tc.turns, tc.bots)
			if !got.Equal(tc.want) || n != tc.n {
				t.Errorf("retakenAnswered = %v, %d; want %v, %d", got, n, tc.want, tc.n)
			}
		})
	}
}
