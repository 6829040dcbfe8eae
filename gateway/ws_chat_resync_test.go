package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/tickets"
)

// TestWebChatCatchesUpOnLostEvents (L7): a message whose event never reaches this
// instance (written while the LISTEN connection is down) still reaches the customer's
// web chat: after the listener reconnects (the connection is terminated here), and,
// as a fallback, on the session's keep-alive ping.
func TestWebChatCatchesUpOnLostEvents(t *testing.T) {
	pool := newPool(t)
	prefix := "resync" + strings.ToLower(t.Name())
	in := newInstanceWith(t, pool, prefix, scriptedBrain{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A message written with no event at all, as when its NOTIFY went out while
	// nobody was listening.
	silent := func(conv, text string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO messages (conversation_id, author, body) VALUES ($1, 'agent:alice', $2)`, conv, text); err != nil {
			t.Fatal(err)
		}
	}
	chat := dialChat(t, ctx, in.http.URL, in.token(t, "web:resync", RoleCustomer), "")
	chat.say("where is my refund?", "r1")
	frames := chat.until(messageFrom("bot"))
	conv := frames[len(frames)-1].ConversationID

	silent(conv, "written while the listener was away")
	var killed int
	if err := pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminated %d LISTEN connections (%v), want 1", killed, err)
	}
	got := chat.until(messageFrom("agent"))
	if last := got[len(got)-1]; last.Text != "written while the listener was away" {
		t.Fatalf("after the reconnect: %+v", last)
	}

	// The keep-alive ping re-reads the conversation too (a second instance, whose
	// sessions ping often).
	in2 := newInstanceWith(t, pool, prefix, scriptedBrain{})
	in2.srv.api.chatWS.ping = 200 * time.Millisecond
	pinged := dialChat(t, ctx, in2.http.URL, in.token(t, "web:resync", RoleCustomer), "&conversation_id="+conv+"&after="+itoa(int(got[len(got)-1].Seq)))
	time.Sleep(100 * time.Millisecond) // the session follows the conversation
	silent(conv, "no event, no reconnect")
	got = pinged.until(messageFrom("agent"))
	if last := got[len(got)-1]; last.Text != "no event, no reconnect" {
		t.Fatalf("after a ping: %+v", last)
	}
}

// TestWebChatKeepsItsSocketWhileTheStoreIsDown: a session told of news while
// PostgreSQL is unreachable keeps its socket (it used to close it, and its customer's
// turn in flight failed with it) and reads again every flushRetry, so a message
// written meanwhile reaches the customer once the store answers.
func TestWebChatKeepsItsSocketWhileTheStoreIsDown(t *testing.T) {
	switched, direct, sw := switchedPool(t)
	in := newInstanceWith(t, switched, "storedown"+strings.ToLower(t.Name()), scriptedBrain{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	chat := dialChat(t, ctx, in.http.URL, in.token(t, "web:storedown", RoleCustomer), "")
	chat.say("where is my refund?", "r1")
	frames := chat.until(messageFrom("bot"))
	conv := frames[len(frames)-1].ConversationID

	sw.cut()
	in.srv.api.chatWS.chat.dispatch(tickets.Event{Type: "message.created", ConversationID: conv})
	time.Sleep(300 * time.Millisecond) // the session's read fails
	if _, err := direct.Exec(ctx, `INSERT INTO messages (conversation_id, author, body) VALUES ($1, 'agent:alice', 'while the store was down')`, conv); err != nil {
		t.Fatal(err)
	}
	sw.restore()
	got := chat.until(messageFrom("agent"))
	if last := got[len(got)-1]; last.Text != "while the store was down" {
		t.Fatalf("after the store came back: %+v", last)
	}
}
