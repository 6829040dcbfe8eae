package tickets

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/fieldcrypt"
)

// keysInUse counts the values of every sealed column by the key that made them.
func keysInUse(t *testing.T, s *Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, col := range sealedColumns {
		rows, err := s.primary.Query(context.Background(), `SELECT `+col.Column+` FROM `+col.Table+` WHERE `+col.Column+` IS NOT NULL`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var ct []byte
			if err := rows.Scan(&ct); err != nil {
				t.Fatal(err)
			}
			id, _ := fieldcrypt.KeyID(ct)
			out[id]++
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
	}
	return out
}

// TestReencryptRewritesEveryColumnUnderTheActiveKey: after a rotation every encrypted
// column is rewritten under the new key (a ring holding only the new key reads it all),
// a rerun has nothing left to do, and a value that does not open is reported and left.
func TestReencryptRewritesEveryColumnUnderTheActiveKey(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	old := ts.store
	if err := old.StashMedia(ctx, "telegram", "m1", []Media{{Part: 1, MIME: "audio/ogg", Data: []byte("voice")}}); err != nil {
		t.Fatal(err)
	}
	in, err := old.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "m1", CustomerRef: "tg:7", CustomerName: "Wu Rekey",
		Text: "[EMAIL_1]", Secrets: []Secret{{Placeholder: "[EMAIL_1]", Kind: "email", Value: "rekey@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: "tg:7", Email: "rekey@example.com", Phone: "13800000000"},
		ConversationID: in.ConversationID, Subject: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if got := keysInUse(t, old); got["k1"] != 6 || len(got) != 1 {
		t.Fatalf("before: %v, want 6 values under k1", got)
	}
	rotated := NewStore(old.Pool(), nil, rotatedTestRing(t))
	var reported []string
	n, err := rotated.Reencrypt(ctx, func(table, column string, done, total int64) {
		if done == total {
			reported = append(reported, table+"."+column)
		}
	})
	if err != nil || n != 6 {
		t.Fatalf("Reencrypt = %d, %v; want 6", n, err)
	}
	if got := keysInUse(t, old); got["k2"] != 6 || len(got) != 1 {
		t.Fatalf("after: %v, want 6 values under k2", got)
	}
	if len(reported) != len(sealedColumns) {
		t.Errorf("progress reported %v", reported)
	}
	// Only the new key is needed from now on.
	k2 := make([]byte, 32)
	for i := range k2 {
		k2[i] = byte(100 + i)
	}
	only, err := fieldcrypt.New(map[string][]byte{"k2": k2}, "k2", []byte("index-key-index-key-index-key-32"))
	if err != nil {
		t.Fatal(err)
	}
	fresh := NewStore(old.Pool(), nil, only)
	if c, err := fresh.GetCustomer(ctx, tk.CustomerID); err != nil || c.Email != "rekey@example.com" || c.DisplayName != "Wu Rekey" {
		t.Fatalf("customer under k2: %+v, %v", c, err)
	}
	if got, err := fresh.GetTicket(ctx, tk.ID); err != nil || got.CustomerName != "Wu Rekey" {
		t.Fatalf("ticket under k2: %+v, %v", got, err)
	}
	if sec, err := fresh.RevealSecrets(ctx, in.ConversationID, in.MessageID); err != nil || len(sec) != 1 || sec[0].Value != "rekey@example.com" {
		t.Fatalf("vault under k2: %+v, %v", sec, err)
	}
	if m, err := fresh.StashedMedia(ctx, "telegram", "m1"); err != nil || len(m) != 1 || string(m[0].Data) != "voice" {
		t.Fatalf("media under k2: %+v, %v", m, err)
	}
	if n, err := rotated.Reencrypt(ctx, nil); err != nil || n != 0 {
		t.Errorf("rerun = %d, %v; want nothing to do", n, err)
	}
	// A value bound to another row does not open: reported, left alone.
	if _, err := old.Pool().Exec(ctx, `UPDATE customers SET phone_enc = email_enc`); err != nil {
		t.Fatal(err)
	}
	ring3, err := fieldcrypt.New(map[string][]byte{"k2": k2, "k3": []byte(strings.Repeat("3", 32))}, "k3", []byte("index-key-index-key-index-key-32"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewStore(old.Pool(), nil, ring3).Reencrypt(ctx, nil); err == nil || !strings.Contains(err.Error(), "1 values did not open") {
		t.Errorf("a value that does not open: %v", err)
	}
	if got := keysInUse(t, old); got["k2"] != 1 {
		t.Errorf("after the third key: %v; want the value that does not open left under k2", got)
	}
}
