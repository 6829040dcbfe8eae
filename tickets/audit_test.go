package tickets

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestAuditLogIsHashChainedAndAppendOnly(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := s.AppendAudit(ctx, nil, fmt.Sprintf("agent%d", i), "ticket.reply", "t1", map[string]int{"n": i}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	n, err := s.VerifyAudit(ctx)
	if err != nil || n != 20 {
		t.Fatalf("verify: %d events, %v", n, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE audit_events SET actor = 'mallory' WHERE id = 3`); err == nil {
		t.Fatal("UPDATE of an audit event succeeded")
	}
	if _, err := pool.Exec(ctx, `DELETE FROM audit_events WHERE id = 3`); err == nil {
		t.Fatal("DELETE of a fresh audit event succeeded")
	}
	// A superuser who switches the guard off can change rows, but the chain
	// shows it.
	for _, q := range []string{
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_guard`,
		`UPDATE audit_events SET detail = '{"n": 999}' WHERE id = 5`,
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_guard`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	n, err = s.VerifyAudit(ctx)
	if !errors.Is(err, ErrAuditChain) || n != 4 {
		t.Fatalf("after tampering with event 5: checked %d, err %v; want 4 and ErrAuditChain", n, err)
	}
}

// TestRefusedAuditedTicketRollsBack: a ticket refused inside its audited
// transaction (a second open ticket of a conversation) is rolled back on
// its connection, which the pool then reuses, and leaves no audit event.
func TestRefusedAuditedTicketRollsBack(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	c, err := s.UpsertCustomer(ctx, Customer{PseudonymousID: "cust-rollback"}, false)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, c.ID, "rest")
	if err != nil {
		t.Fatal(err)
	}
	ticket := Ticket{CustomerID: c.ID, ConversationID: conv, Subject: "help", Status: StatusOpen, Priority: PriorityNormal, CreatedAt: time.Now()}
	if _, err := s.InsertTicket(ctx, ticket, &AuditEntry{Actor: "bot", Action: "ticket.create"}, false); err != nil {
		t.Fatal(err)
	}
	created := pool.Stat().NewConnsCount()
	for range 5 {
		if _, err := s.InsertTicket(ctx, ticket, &AuditEntry{Actor: "bot", Action: "ticket.create"}, false); !errors.Is(err, ErrConflict) {
			t.Fatalf("second open ticket: %v, want ErrConflict", err)
		}
	}
	if n := pool.Stat().NewConnsCount(); n != created {
		t.Errorf("%d connections opened after the refusals, want none: one was left in its transaction", n-created)
	}
	if n, err := s.VerifyAudit(ctx); err != nil || n != 1 {
		t.Errorf("verify: %d events, %v; want 1", n, err)
	}
}
