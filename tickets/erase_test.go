package tickets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// everything returns every row of every table in the schema, and every Redis key with
// its value (DUMP), as text.
func everything(t *testing.T, pool *pgxpool.Pool, rdb redis.UniversalClient, patterns ...string) string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("%d tables, %v", len(tables), err)
	}
	var b strings.Builder
	for _, tbl := range tables {
		rows, err := pool.Query(ctx, `SELECT t::text FROM `+tbl+` t`)
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.Join(texts, "\n"))
	}
	for _, p := range patterns {
		keys, err := rdb.Keys(ctx, p).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			b.WriteString("\n" + k + "\n" + rdb.Dump(ctx, k).Val())
		}
	}
	return b.String()
}

// TestEraseCustomerLeavesNoTrace: a customer with conversations over two channels, a
// sealed name, contact fields, vault entries, archived messages, a ticket held by an
// agent, a waiting ticket, queue rows, stashed media, a cached ticket and a rate-limit
// key is erased; afterwards no table and no Redis key holds their ids, name or PII, the
// routing state is whole again, and the erasure is audited by a reference only.
func TestEraseCustomerLeavesNoTrace(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	seedAdmin(t, ts)
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	const pid, name, email, phone, secret = "tg:424242", "Zhao Erasable", "erase.me@example.com", "13912345678", "110105194912310021"
	// First contact over a channel, with a vault entry and stashed media.
	if err := ts.store.StashMedia(ctx, "telegram", "u1", []Media{{Part: 1, MIME: "audio/ogg", Data: []byte("voice of " + name)}}); err != nil {
		t.Fatal(err)
	}
	in, err := ts.store.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "u1", CustomerRef: pid, CustomerName: name,
		Text: "my id is [ID_CARD_1]", Secrets: []Secret{{Placeholder: "[ID_CARD_1]", Kind: "id_card", Value: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	// Two tickets: one routed to alice (she has capacity 1), one waiting.
	held, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: pid, DisplayName: name, Email: email, Phone: phone},
		ConversationID: in.ConversationID, Subject: "refund", Message: "call me"})
	if err != nil || held.AssigneeID != "alice" {
		t.Fatalf("first ticket %+v, %v", held, err)
	}
	if _, _, err := ts.Reply(ctx, Actor{ID: "alice"}, held.ID, "we call you back"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Reveal(ctx, Actor{ID: "alice"}, in.ConversationID, in.MessageID); err != nil {
		t.Fatal(err)
	}
	waiting, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: pid}, Channel: "api", Subject: "again"})
	if err != nil || waiting.AssigneeID != "" {
		t.Fatalf("second ticket %+v, %v", waiting, err)
	}
	if _, err := ts.GetTicket(ctx, held.ID); err != nil { // fills the cache
		t.Fatal(err)
	}
	if _, err := ts.store.ArchiveMessages(ctx, time.Now().Add(time.Hour), 0); err != nil { // archive all of it
		t.Fatal(err)
	}
	if err := ts.rdb.Set(ctx, "rate:"+ts.prefix+":rl:customer:"+pid, 3, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	// Someone else's data stays.
	other, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: "tg:1", DisplayName: "Keeper"}, Subject: "stay"})
	if err != nil {
		t.Fatal(err)
	}
	cust, err := ts.store.GetCustomer(ctx, held.CustomerID)
	if err != nil || cust.DisplayName != name {
		t.Fatalf("customer %+v, %v", cust, err)
	}
	traces := []string{pid, cust.ID, name, email, phone, secret, "13912345678"}
	before := everything(t, ts.store.Pool(), ts.rdb, "*"+ts.prefix+"*")
	if !strings.Contains(before, pid) || !strings.Contains(before, cust.ID) {
		t.Fatal("the scan does not see the customer before the erasure: it looks in the wrong place")
	}

	rep, err := ts.EraseCustomer(ctx, "dpo", pid)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows["tickets"] != 2 || rep.Rows["customers"] != 1 || rep.Rows["pii_vault"] != 1 || rep.Rows["stashed_media"] != 1 ||
		rep.Rows["messages_archive"] == 0 || rep.RedisKeys < 1 {
		t.Errorf("report %+v", rep)
	}
	after := everything(t, ts.store.Pool(), ts.rdb, "*"+ts.prefix+"*")
	for _, trace := range traces {
		if i := strings.Index(after, trace); i >= 0 {
			t.Errorf("%q is still stored: …%s…", trace, after[max(0, i-80):min(len(after), i+40)])
		}
	}
	for _, id := range []string{held.ID, waiting.ID} {
		if strings.Contains(after, ts.prefix+":t:"+id) {
			t.Errorf("ticket %s is still cached", id)
		}
	}
	// Routing state: alice's slot was freed and pulled the other customer's waiting
	// ticket; nothing of the erased customer waits.
	if got, err := ts.GetTicket(ctx, other.ID); err != nil || got.AssigneeID != "alice" {
		t.Errorf("another customer's ticket: %+v, %v; want it pulled to alice", got, err)
	}
	if load, _, err := ts.Router.AgentLoad(ctx, "alice"); err != nil || load != 1 {
		t.Errorf("alice's load %d, %v; want 1 (the pulled ticket)", load, err)
	}
	if n, _ := ts.Router.QueueDepth(ctx, "support"); n != 0 {
		t.Errorf("%d tickets still wait in support", n)
	}
	events, _ := ts.store.AuditLog(ctx, 0, 1000)
	var erased []AuditEvent
	for _, e := range events {
		if e.Action == "customer.erase" {
			erased = append(erased, e)
		}
	}
	if len(erased) != 1 || erased[0].Actor != "dpo" || erased[0].Target != "customer:"+rep.Reference {
		t.Errorf("customer.erase events %+v", erased)
	}
	if _, err := ts.store.VerifyAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.EraseCustomer(ctx, "dpo", pid); !errors.Is(err, ErrNotFound) {
		t.Errorf("erasing again: %v, want ErrNotFound", err)
	}
	if _, err := ts.EraseCustomer(ctx, "dpo", " "); !errors.Is(err, ErrInvalid) {
		t.Errorf("erasing nobody: %v, want ErrInvalid", err)
	}
}

// TestDisplayNamesAreSealed: names are stored encrypted with a blind index (never in the
// clear, also not in the ticket cache), read back whole, found by whole name in any
// case; rows from before are sealed by SealNames.
func TestDisplayNamesAreSealed(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	const name = "Qian Sealedname"
	tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: "web:n", DisplayName: name}, Subject: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ts.GetTicket(ctx, tk.ID); err != nil || got.CustomerName != name {
		t.Fatalf("GetTicket (miss) = %q, %v", got.CustomerName, err)
	}
	if got, err := ts.GetTicket(ctx, tk.ID); err != nil || got.CustomerName != name {
		t.Fatalf("GetTicket (cached) = %q, %v", got.CustomerName, err)
	}
	if list, err := ts.store.ListTickets(ctx, TicketFilter{CustomerName: "qian sealedNAME"}); err != nil || len(list) != 1 {
		t.Fatalf("search by name: %+v, %v", list, err)
	}
	if c, _ := ts.store.GetCustomer(ctx, tk.CustomerID); c.DisplayName != name {
		t.Errorf("customer name %q", c.DisplayName)
	}
	if all := everything(t, ts.store.Pool(), ts.rdb, "*"+ts.prefix+"*"); strings.Contains(all, name) || strings.Contains(all, "Sealedname") {
		t.Error("a display name is stored in the clear")
	}
	// A row from before migration 00017.
	pool := ts.store.Pool()
	if _, err := pool.Exec(ctx, `UPDATE customers SET display_name = 'Old Plain', display_name_enc = NULL, display_name_bidx = NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE tickets SET customer_name = 'Old Plain', customer_name_enc = NULL, customer_name_bidx = NULL`); err != nil {
		t.Fatal(err)
	}
	if got, _ := ts.store.GetTicket(ctx, tk.ID); got.CustomerName != "Old Plain" {
		t.Errorf("an unsealed row reads %q", got.CustomerName)
	}
	if n, err := ts.store.SealNames(ctx); err != nil || n != 2 {
		t.Fatalf("SealNames = %d, %v; want 2", n, err)
	}
	if got, _ := ts.store.GetTicket(ctx, tk.ID); got.CustomerName != "Old Plain" {
		t.Errorf("a sealed old row reads %q", got.CustomerName)
	}
	if all := everything(t, pool, ts.rdb); strings.Contains(all, "Old Plain") {
		t.Error("SealNames left a name in the clear")
	}
}
