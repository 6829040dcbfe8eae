package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

type recordingSender struct{ got []string }

func (r *recordingSender) Send(_ context.Context, _ json.RawMessage, text string) error {
	r.got = append(r.got, text)
	return nil
}

// TestOutboxRetrySendsDeadLetters: `switchboard outbox retry` re-queues failed replies
// (by channel or id, audited), and a worker then sends them.
func TestOutboxRetrySendsDeadLetters(t *testing.T) {
	dsn := testenv.PG(t)
	dir := t.TempDir()
	t.Setenv("SWITCHBOARD_DATA_DIR", dir)
	t.Setenv("SWITCHBOARD_PG_DSN", dsn)
	if out, err := execCLI(t, "", "outbox", "retry"); err != nil || out != "re-queued 0 failed replies\n" {
		t.Fatalf("on an empty outbox: %q, %v", out, err)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cust, conv := uuid.NewString(), uuid.NewString()
	for _, q := range []string{
		`INSERT INTO customers (id, pseudonymous_id) VALUES ('` + cust + `', 'tg:9')`,
		`INSERT INTO conversations (id, customer_id, channel, reply_to) VALUES ('` + conv + `', '` + cust + `', 'telegram', '{"chat_id":9}')`,
		`INSERT INTO outbox (conversation_id, channel, reply_to, body, state, attempts, attempts_settled, last_error)
			VALUES ('` + conv + `', 'telegram', '{"chat_id":9}', 'sorry for the wait', 'failed', 40, 40, 'channel down')`,
		`INSERT INTO outbox (conversation_id, channel, reply_to, body, state, attempts, attempts_settled, last_error)
			VALUES ('` + conv + `', 'slack', '{"channel":"D9"}', 'not this one', 'failed', 3, 3, 'channel down')`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args    []string
		want    string
		wantErr string
	}{
		{[]string{"outbox", "retry", "--turns", "--id", "1"}, "", "an id selects an outbox row"},
		{[]string{"outbox", "retry", "--channel", "telegram"}, "re-queued 1 failed reply\n", ""},
		{[]string{"outbox", "retry", "--turns"}, "re-queued 0 failed turns\n", ""},
	} {
		out, err := execCLI(t, "", tc.args...)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: %v, want an error saying %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || out != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.args, out, err, tc.want)
		}
	}
	ring, err := fieldcrypt.LoadOrCreate(dir + "/keyring.json")
	if err != nil {
		t.Fatal(err)
	}
	sender := &recordingSender{}
	w := &flow.Worker{Store: tickets.NewStore(pool, nil, ring), Outbound: map[string]flow.Sender{"telegram": sender},
		Log: slog.New(slog.DiscardHandler)}
	if did, err := w.Once(ctx); !did || err != nil {
		t.Fatalf("worker: %v, %v", did, err)
	}
	if len(sender.got) != 1 || sender.got[0] != "sorry for the wait" {
		t.Fatalf("sent %q", sender.got)
	}
	var audits int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE action = 'outbox.retry' AND actor = 'cli'`).Scan(&audits); err != nil || audits != 3 {
		t.Fatalf("%d outbox.retry audit rows (%v), want 3", audits, err)
	}
}
