//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// The webhook channel of the fault load: a fake Telegram Bot API that every replica's
// Telegram channel sends its replies to, and Telegram customers whose updates the load
// posts to the replicas' webhook (/v1/channels/telegram), as Telegram does: an update not
// acknowledged with a 2xx is delivered again, with the same update_id, here to the next
// replica. The checker then compares what the fake API received, per chat, with the
// replies the conversation log holds.

const (
	fakeTGToken  = "424242:fault-harness-bot-token"
	fakeTGSecret = "fault-harness-webhook-secret"
)

// fakeTelegram is the Bot API's sendMessage. While down it answers 502 ("502") or
// refuses connections ("refused": its listener is closed, and opened again on the same
// address when it comes back).
type fakeTelegram struct {
	addr string
	mu   sync.Mutex
	srv  *http.Server
	mode string                 // "" (up), "502" or "refused"
	sent map[int64][]tgReceived // chat id → messages in the order they arrived
	bad  int                    // sendMessage calls answered 502
	n    int64
}

// tgReceived is one sendMessage the fake API accepted.
type tgReceived struct {
	Text string
	At   time.Time
}

func startFakeTelegram(t *testing.T) *fakeTelegram {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTelegram{addr: ln.Addr().String(), sent: map[int64][]tgReceived{}}
	f.serve(ln)
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.srv != nil {
			f.srv.Close()
		}
	})
	return f
}

func (f *fakeTelegram) serve(ln net.Listener) {
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 5 * time.Second}
	go f.srv.Serve(ln)
}

func (f *fakeTelegram) url() string { return "http://" + f.addr }

// setMode takes the API down ("502", "refused") or up ("").
func (f *fakeTelegram) setMode(t *testing.T, mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if mode == "refused" && f.srv != nil {
		f.srv.Close()
		f.srv = nil
	}
	if mode != "refused" && f.srv == nil {
		ln, err := net.Listen("tcp", f.addr)
		for deadline := time.Now().Add(10 * time.Second); err != nil && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			ln, err = net.Listen("tcp", f.addr)
		}
		if err != nil {
			t.Fatalf("fake Telegram API: listen again on %s: %v", f.addr, err)
		}
		f.serve(ln)
	}
	f.mode = mode
}

func (f *fakeTelegram) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/bot"+fakeTGToken+"/sendMessage" {
		http.NotFound(w, r)
		return
	}
	var in struct {
		ChatID int64  `json:"chat_id"`
		Text   string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ChatID == 0 {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"ok":false,"description":"Bad Request: chat_id is empty"}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mode == "502" {
		f.bad++
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, `{"ok":false,"error_code":502,"description":"Bad Gateway"}`)
		return
	}
	f.n++
	f.sent[in.ChatID] = append(f.sent[in.ChatID], tgReceived{Text: in.Text, At: time.Now()})
	fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"chat":{"id":%d},"text":%q}}`, f.n, in.ChatID, in.Text)
}

// received is a copy of what chat received.
func (f *fakeTelegram) received(chat int64) []tgReceived {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent[chat])
}

// telegramEnv turns the Telegram channel on in a replica, against f.
func (f *fakeTelegram) env() []string {
	return []string{"SWITCHBOARD_TELEGRAM_BOT_TOKEN=" + fakeTGToken, "SWITCHBOARD_TELEGRAM_SECRET_TOKEN=" + fakeTGSecret,
		"SWITCHBOARD_TELEGRAM_API_BASE=" + f.url()}
}

// tgChatBase is the first Telegram customer's chat (and user) id.
const tgChatBase = 7_000_000

var tgUpdateID atomic.Int64

// telegramCustomer is customer i of the Telegram chat tgChatBase+i: sessions of 2–5
// messages (a third end with "I want a human") until ctx ends, each message an update
// posted to the webhook of its replica, and on failure again (the same update_id) to the
// next. It does not wait for the bot's replies: like a person typing on, it may have
// several turns waiting, whose replies must still come in order.
func (l *faultLoad) telegramCustomer(ctx context.Context, i int) {
	pref := i % len(l.c.replicas)
	chat := int64(tgChatBase + i)
	s := &faultSession{Subject: "tg:" + strconv.FormatInt(chat, 10), Seqs: map[int64]int{}, byAuthor: map[string]int{}}
	l.mu.Lock()
	l.sessions = append(l.sessions, s)
	l.tgChats = append(l.tgChats, chat)
	l.mu.Unlock()
	client := faultHTTPClient(40 * time.Second)
	defer client.CloseIdleConnections()
	for n := 0; ctx.Err() == nil; n++ {
		turns, escalate := 2+(i+n)%4, (i+n)%3 == 0
		for k := range turns {
			mid := fmt.Sprintf("m-tg-%d-%d-%d", i, n, k)
			update := tgUpdateID.Add(1)
			body := tgUpdate(update, chat, turnText(mid, k, escalate && k == turns-1))
			if !l.postUpdate(ctx, client, s, &pref, body) {
				return
			}
			l.acked(s, mid, "", false, false, false)
			if !sleepCtx(ctx, l.think) {
				return
			}
		}
	}
}

// tgUpdate is a Bot API Update of a private chat's text message.
func tgUpdate(updateID, chat int64, text string) []byte {
	b, _ := json.Marshal(map[string]any{"update_id": updateID, "message": map[string]any{
		"message_id": updateID, "date": time.Now().Unix(), "text": text,
		"from": map[string]any{"id": chat, "is_bot": false, "first_name": "Tess", "language_code": "en"},
		"chat": map[string]any{"id": chat, "type": "private"}}})
	return b
}

// postUpdate delivers an update until a replica acknowledges it (2xx); false when ctx
// ended first.
func (l *faultLoad) postUpdate(ctx context.Context, client *http.Client, s *faultSession, pref *int, body []byte) bool {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		r := l.c.replicas[(*pref+attempt)%len(l.c.replicas)]
		l.inFlight[r.idx].Add(1)
		status, err := postWebhook(client, r.base()+"/v1/channels/telegram", body)
		l.inFlight[r.idx].Add(-1)
		l.count(func(st *faultLoadStats) { st.Attempts++ })
		if err == nil && status/100 == 2 {
			*pref = r.idx
			return true
		}
		l.classify("POST /v1/channels/telegram "+r.addr, err, status)
		l.trouble(s)
		sleepCtx(ctx, 100*time.Millisecond)
	}
	return false
}

// postWebhook posts a Telegram update with the webhook's secret; once sent, the request
// is awaited even when the load ends meanwhile.
func postWebhook(client *http.Client, url string, body []byte) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", fakeTGSecret)
	// An update is idempotent by its update_id: say so, and net/http sends it again when
	// the server closed the idle keep-alive connection it went out on (a drain).
	var u struct {
		UpdateID int64 `json:"update_id"`
	}
	json.Unmarshal(body, &u)
	req.Header.Set("Idempotency-Key", "tg-update-"+strconv.FormatInt(u.UpdateID, 10))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// tgReport is what the checker found on the Telegram chats.
type tgReport struct {
	Chats, Replies    int // chats, replies (bot and agent) the conversation log holds for them
	Received          int // sendMessage calls the fake API accepted
	Missing           int // replies logged but never received
	Duplicated        int // replies received more than once (at-least-once delivery; Telegram has no dedup)
	OutOfOrder        int // chats whose replies arrived in another order than the log's
	Reordered         int // replies that arrived out of their place (not in the longest in-order run)
	Pending           int // replies still queued (pending) when the check ran
	Failed            int // dead letters (state failed) when the check ran
	DeadLettersResent int // replies given up during a channel outage, re-queued and received afterwards
}

func (r tgReport) String() string {
	return fmt.Sprintf("; telegram: %d chats, %d replies logged, %d received, %d missing, %d duplicated, %d out of place in %d chats, %d pending, %d dead",
		r.Chats, r.Replies, r.Received, r.Missing, r.Duplicated, r.Reordered, r.OutOfOrder, r.Pending, r.Failed)
}

// tgReply is a message of a Telegram conversation pushed to its chat: a bot's answer or
// a row of the outbox (an agent's reply, a satisfaction survey …). Key is its place in
// the chat: an answer's is its turn's message, an outbox row's its own.
type tgReply struct {
	ID, Key int64
	Text    string
}

// checkTelegram waits (faultLeaseWait at most) until no Telegram turn or reply is
// pending, then compares, per chat, the replies the log holds with what the fake API
// received: each at least once, repeats counted, in the log's order (the replies in
// skipOrder, dead letters sent again after newer ones, are left out of that comparison).
func (l *faultLoad) checkTelegram(t *testing.T, ctx context.Context, conn *pgx.Conn, skipOrder map[int64]bool) tgReport {
	var rep tgReport
	if l.c.tg == nil {
		return rep
	}
	for deadline := time.Now().Add(faultLeaseWait); ; time.Sleep(200 * time.Millisecond) {
		var err error
		rep.Pending, rep.Failed, err = tgQueued(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Pending == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, chat := range l.tgChats {
		rep.Chats++
		replies, err := tgReplies(ctx, conn, chat)
		if err != nil {
			t.Fatal(err)
		}
		got := l.c.tg.received(chat)
		rep.Replies += len(replies)
		rep.Received += len(got)
		missing, dup, reordered := compareReplies(replies, got, skipOrder)
		rep.Missing += missing
		rep.Duplicated += dup
		rep.Reordered += reordered
		if reordered > 0 {
			rep.OutOfOrder++
			if rep.OutOfOrder <= 2 {
				logOrder(t, chat, replies, got, skipOrder)
			}
		}
	}
	return rep
}

// logOrder logs a chat's replies as logged (id, text; * a re-sent dead letter) and as
// received (text, time), to explain an order the checker found wrong.
func logOrder(t *testing.T, chat int64, logged []tgReply, got []tgReceived, skipOrder map[int64]bool) {
	var b strings.Builder
	for _, r := range logged {
		mark := ""
		if skipOrder[r.ID] {
			mark = "*"
		}
		fmt.Fprintf(&b, " %d%s:%.12s", r.ID, mark, r.Text)
	}
	b.WriteString("\n  received:")
	for _, g := range got {
		fmt.Fprintf(&b, " %.12s@%s", g.Text, g.At.Format("04:05.000"))
	}
	t.Logf("chat %d out of order; logged:%s", chat, b.String())
}

// tgQueued counts the Telegram turns and replies pending and failed.
func tgQueued(ctx context.Context, conn *pgx.Conn) (pending, failed int, err error) {
	err = conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'failed') FROM (
		SELECT state FROM channel_messages WHERE channel = 'telegram' UNION ALL SELECT state FROM outbox WHERE channel = 'telegram') q`).
		Scan(&pending, &failed)
	return pending, failed, err
}

// tgReplies lists the messages of a chat's conversations pushed to the chat in the order
// they are due: an answer where its turn is (the turn's outcome names it, reply_id), an
// outbox row where it was logged.
func tgReplies(ctx context.Context, conn *pgx.Conn, chat int64) ([]tgReply, error) {
	rows, err := conn.Query(ctx, `WITH conv AS (SELECT id FROM conversations WHERE channel = 'telegram' AND reply_to->>'chat_id' = $1),
		answers AS (SELECT (outcome->>'reply_id')::bigint AS id, log_id FROM channel_messages
			WHERE conversation_id IN (SELECT id FROM conv) AND outcome ? 'reply_id')
		SELECT m.id, coalesce(a.log_id, m.id), m.body FROM messages m LEFT JOIN answers a ON a.id = m.id
		WHERE m.conversation_id IN (SELECT id FROM conv) AND (m.author = 'bot' OR EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id))
		ORDER BY 2`, strconv.FormatInt(chat, 10))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tgReply, error) {
		var x tgReply
		return x, r.Scan(&x.ID, &x.Key, &x.Text)
	})
}

// compareReplies matches what a chat received against its logged replies: missing are
// logged replies with no copy received, dup the copies beyond one, and reordered those
// that arrived out of their place (displaced).
func compareReplies(logged []tgReply, got []tgReceived, skipOrder map[int64]bool) (missing, dup, reordered int) {
	want := map[string]int{}
	for _, r := range logged {
		want[r.Text]++
	}
	have := map[string]int{}
	for _, g := range got {
		have[g.Text]++
	}
	for text, n := range want {
		missing += max(0, n-have[text])
	}
	for text, n := range have {
		dup += max(0, n-want[text])
	}
	return missing, dup, displaced(logged, got, skipOrder)
}

// displaced counts the logged replies (but those in skipOrder) that did not arrive in
// their place: how many fewer of them than all arrived as a subsequence in their order
// (the longest common subsequence of the two lists).
func displaced(logged []tgReply, got []tgReceived, skipOrder map[int64]bool) int {
	var want []string
	for _, r := range logged {
		if !skipOrder[r.ID] {
			want = append(want, r.Text)
		}
	}
	prev, cur := make([]int, len(got)+1), make([]int, len(got)+1)
	for _, w := range want {
		for j, g := range got {
			switch {
			case w == g.Text:
				cur[j+1] = prev[j] + 1
			default:
				cur[j+1] = max(prev[j+1], cur[j])
			}
		}
		prev, cur = cur, prev
	}
	return len(want) - prev[len(got)]
}

// TestCompareReplies: the Telegram checker's counts of replies missing, duplicated and
// out of their place, against what a chat received.
func TestCompareReplies(t *testing.T) {
	logged := []tgReply{{ID: 1, Text: "a"}, {ID: 2, Text: "b"}, {ID: 3, Text: "c"}, {ID: 4, Text: "d"}}
	recv := func(texts ...string) []tgReceived {
		var out []tgReceived
		for _, s := range texts {
			out = append(out, tgReceived{Text: s})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		got  []tgReceived
		skip map[int64]bool
		want [3]int // missing, duplicated, out of place
	}{
		{"in order", recv("a", "b", "c", "d"), nil, [3]int{0, 0, 0}},
		{"one missing", recv("a", "c", "d"), nil, [3]int{1, 0, 1}},
		{"one twice", recv("a", "b", "b", "c", "d"), nil, [3]int{0, 1, 0}},
		{"two swapped", recv("a", "c", "b", "d"), nil, [3]int{0, 0, 1}},
		{"a dead letter re-sent last", recv("a", "c", "d", "b"), map[int64]bool{2: true}, [3]int{0, 0, 0}},
		{"the same, not known as one", recv("a", "c", "d", "b"), nil, [3]int{0, 0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, d, r := compareReplies(logged, tc.got, tc.skip)
			if diff := cmp.Diff(tc.want, [3]int{m, d, r}); diff != "" {
				t.Errorf("missing, duplicated, out of place (-want +got):\n%s", diff)
			}
		})
	}
}
