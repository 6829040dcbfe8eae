package tickets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMigrateIsIdempotent(t *testing.T) {
	pool := migratedPool(t)
	ctx := context.Background()
	v1, err := Migrate(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := Migrate(ctx, pool)
	if err != nil || v1 != v2 || v1 < 1 {
		t.Fatalf("second migrate: version %d → %d, err %v", v1, v2, err)
	}
}

func TestCustomerContactFieldsEncryptedWithBlindIndex(t *testing.T) {
	pool := migratedPool(t)
	ctx := context.Background()
	s := NewStore(pool, nil, testKeyRing(t))
	in := Customer{PseudonymousID: "tg:42", DisplayName: "Ada", VIPTier: 2, Email: "Ada.Lovelace@Example.com", Phone: "+86 138-1234-5678"}
	got, err := s.UpsertCustomer(ctx, in, true)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.ID = got.ID
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Customer{}, "CreatedAt")); diff != "" {
		t.Fatalf("customer round trip (-want +got):\n%s", diff)
	}
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT convert_to(customers::text, 'UTF8') FROM customers WHERE id = $1`, got.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"Lovelace", "lovelace", "13812345678", "1234-5678", "Example"} {
		if bytes.Contains(raw, []byte(plain)) {
			t.Errorf("row holds %q in plaintext", plain)
		}
	}
	for _, tc := range []struct{ kind, value string }{
		{"email", "  ada.lovelace@example.COM "},
		{"phone", "+8613812345678"},
	} {
		found, err := s.FindCustomerByContact(ctx, tc.kind, tc.value)
		if err != nil || found.ID != got.ID {
			t.Errorf("find by %s %q: got %q, %v", tc.kind, tc.value, found.ID, err)
		}
	}
	if _, err := s.FindCustomerByContact(ctx, "email", "someone@else.org"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown email: err %v, want ErrNotFound", err)
	}
	if _, err := s.FindCustomerByContact(ctx, "address", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown kind: err %v, want ErrInvalid", err)
	}
}

// seedTickets inserts n tickets spread over the last year: a few percent
// open, the rest spread over other statuses, 200 assignees and many names.
func seedTickets(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := context.Background()
	c, err := s.UpsertCustomer(ctx, Customer{PseudonymousID: "seed", DisplayName: "Seed"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutSkillGroup(ctx, SkillGroup{ID: "billing", Name: "Billing"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.primary.Exec(ctx, `INSERT INTO agents (id, name) SELECT 'agent' || g, 'Agent ' || g FROM generate_series(0, 199) g`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.primary.Exec(ctx, `INSERT INTO conversations (id, customer_id, channel)
		SELECT md5('conv' || g)::uuid, $1, 'api' FROM generate_series(1, $2) g`, c.ID, n)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.primary.Exec(ctx, `INSERT INTO tickets (id, customer_id, customer_name_bidx, conversation_id, status, priority, assignee, created_at, resolved_at)
		SELECT gen_random_uuid(), $1, decode(md5('Customer ' || g), 'hex'), md5('conv' || g)::uuid,
			CASE WHEN g % 50 = 0 THEN 'open' WHEN g % 3 = 0 THEN 'assigned' WHEN g % 3 = 1 THEN 'resolved' ELSE 'closed' END,
			'normal', CASE WHEN g % 50 = 0 THEN NULL ELSE 'agent' || (g % 200) END,
			now() - (g % 365) * interval '1 day' - (g % 1440) * interval '1 minute',
			CASE WHEN g % 50 <> 0 AND g % 3 <> 0 THEN now() - (g % 365) * interval '1 day' END
		FROM generate_series(1, $2) g`, c.ID, n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.primary.Exec(ctx, `ANALYZE tickets`); err != nil {
		t.Fatal(err)
	}
}

// seedCustomer is the customer of seedTickets, with a conversation of id ...0001.
func seedCustomer(t *testing.T, s *Store) string {
	t.Helper()
	var id string
	err := s.primary.QueryRow(context.Background(), `WITH c AS (SELECT id FROM customers WHERE pseudonymous_id = 'seed'),
		conv AS (INSERT INTO conversations (id, customer_id, channel) SELECT '00000000-0000-0000-0000-000000000001', id, 'api' FROM c)
		SELECT id FROM c`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestIndexesServeTheirQueries runs EXPLAIN on the very queries the store
// sends and checks the planner picks the index built for each.
func TestIndexesServeTheirQueries(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	seedTickets(t, s, 30000)
	ctx := context.Background()
	listQ, listArgs, err := listTicketsQuery(TicketFilter{Since: time.Now().Add(-48 * time.Hour), Status: StatusAssigned, AssigneeID: "agent7"})
	if err != nil {
		t.Fatal(err)
	}
	nameQ, nameArgs, err := listTicketsQuery(TicketFilter{CustomerName: "Customer Zed", customerNameIndex: s.nameIndex("Customer Zed")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, index, query string
		args               []any
	}{
		{"ticket list by time, status, assignee", "tickets_list_idx", listQ, listArgs},
		{"customer name (blind index)", "tickets_customer_name_bidx_idx", nameQ, nameArgs},
		{"open backlog", "tickets_open_idx", openBacklogQuery, []any{50}},
		{"past resolutions, newest first", "tickets_resolved_idx", pastResolutionsQuery, []any{2000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plan string
			if err := pool.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+tc.query, tc.args...).Scan(&plan); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, `"Index Name": "`+tc.index+`"`) {
				t.Fatalf("plan does not use %s:\n%s", tc.index, plan)
			}
		})
	}
	// The queries also return the right rows: a whole name, in any case.
	zed, err := s.InsertTicket(ctx, Ticket{CustomerID: seedCustomer(t, s), CustomerName: "Customer Zed",
		ConversationID: "00000000-0000-0000-0000-000000000001", Status: StatusOpen, Priority: PriorityNormal, CreatedAt: time.Now()}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.ListTickets(ctx, TicketFilter{CustomerName: " customer ZED"})
	if err != nil || len(got) != 1 || got[0].ID != zed.ID || got[0].CustomerName != "Customer Zed" {
		t.Fatalf("name search: %+v, %v", got, err)
	}
	open, err := s.OpenBacklog(ctx, 50)
	if err != nil || len(open) != 50 {
		t.Fatalf("backlog: %d rows, %v", len(open), err)
	}
	for i, tk := range open {
		if tk.Status != StatusOpen || (i > 0 && tk.CreatedAt.Before(open[i-1].CreatedAt)) {
			t.Fatalf("backlog row %d: status %s, not oldest-first", i, tk.Status)
		}
	}
}

// TestListsReadFromTheReplica points the replica pool at a second database
// holding a copy of one ticket: list queries see the replica's rows, while
// reads that must be current (GetTicket) go to the primary.
func TestListsReadFromTheReplica(t *testing.T) {
	primary, replica := migratedPool(t), migratedPool(t)
	ctx := context.Background()
	p := NewStore(primary, nil, testKeyRing(t))
	seed := func(s *Store, name string) Ticket {
		c, err := s.UpsertCustomer(ctx, Customer{PseudonymousID: name, DisplayName: name}, true)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := s.CreateConversation(ctx, c.ID, "api")
		if err != nil {
			t.Fatal(err)
		}
		tk, err := s.InsertTicket(ctx, Ticket{CustomerID: c.ID, CustomerName: name, ConversationID: conv, Status: StatusOpen,
			Priority: PriorityNormal, CreatedAt: time.Now()}, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		return tk
	}
	onPrimary := seed(p, "primary-only")
	seed(NewStore(replica, nil, testKeyRing(t)), "replica-only")
	s := NewStore(primary, replica, testKeyRing(t))
	list, err := s.ListTickets(ctx, TicketFilter{})
	if err != nil || len(list) != 1 || list[0].CustomerName != "replica-only" {
		t.Fatalf("list read %+v (%v), want the replica's row", list, err)
	}
	if got, err := s.GetTicket(ctx, onPrimary.ID); err != nil || got.CustomerName != "primary-only" {
		t.Fatalf("GetTicket read %+v (%v), want the primary's row", got, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentFirstContactKeepsContactsReadable: two first contacts of
// one customer at once agree on one id, and the encrypted fields stay
// readable.
func TestConcurrentFirstContactKeepsContactsReadable(t *testing.T) {
	pool := migratedPool(t)
	s := NewStore(pool, nil, testKeyRing(t))
	ctx := context.Background()
	for round := range 20 {
		pid := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if _, err := s.UpsertCustomer(ctx, Customer{PseudonymousID: pid, Email: pid + "@example.com"}, true); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		c, err := s.FindCustomerByContact(ctx, "email", pid+"@example.com")
		if err != nil || c.Email != pid+"@example.com" {
			t.Fatalf("round %d: %+v, %v", round, c, err)
		}
	}
}
