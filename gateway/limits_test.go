package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-cs/switchboard/gateway/channel/telegram"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

// telegramUpdate is a text message of Telegram user id.
func telegramUpdate(updateID, user int) []byte {
	b, _ := json.Marshal(map[string]any{"update_id": updateID, "message": map[string]any{"message_id": updateID, "date": 1,
		"text": "where is my refund?", "from": map[string]any{"id": user, "is_bot": false, "first_name": "C"},
		"chat": map[string]any{"id": user, "type": "private"}}})
	return b
}

func postTelegramWith(t *testing.T, base, secret string, body []byte) int {
	t.Helper()
	code, _ := rawCall(t, "POST", base+"/v1/channels/telegram", "", "application/json", body, map[string]string{"X-Telegram-Bot-Api-Secret-Token": secret})
	return code
}

// TestWebhookLimitsSpareVerifiedDeliveries: a channel delivers every customer's updates
// from one address; a burst of verified updates for many customers is all accepted
// although it is far over the per-IP budget, each customer's own budget still holds,
// and requests that fail verification from one address are throttled.
func TestWebhookLimitsSpareVerifiedDeliveries(t *testing.T) {
	_, unique := testenv.Redis(t)
	in := newInstanceWith(t, newPool(t), "hooks"+unique, scriptedBrain{}, func(o *Options) {
		o.Channels = append(o.Channels, &telegram.Channel{SecretToken: "tg-secret", BotToken: "123:ABC"})
		o.Limits = RateLimits{Prefix: unique + ":rl", PerIPPerMinute: 5, PerCustomerPerMinute: 3}
	})
	for i := range 30 {
		if code := postTelegramWith(t, in.http.URL, "tg-secret", telegramUpdate(1000+i, 500+i)); code != 200 {
			t.Fatalf("verified update %d of a burst from one address: %d, want 200", i, code)
		}
	}
	for i := range 4 {
		want := map[bool]int{true: 429, false: 200}[i == 3]
		if code := postTelegramWith(t, in.http.URL, "tg-secret", telegramUpdate(2000+i, 77)); code != want {
			t.Fatalf("update %d of one customer (budget 3 a minute): %d, want %d", i, code, want)
		}
	}
	var codes []int
	for i := range 7 {
		codes = append(codes, postTelegramWith(t, in.http.URL, "wrong", []byte(fmt.Sprintf(`{"garbage":%d}`, i))))
	}
	if diff := cmp.Diff([]int{401, 401, 401, 401, 401, 429, 429}, codes); diff != "" {
		t.Fatalf("unsigned garbage from one address (-want +got):\n%s", diff)
	}
}

// blockingBrain answers like scriptedBrain once release is closed; entered counts
// the turns waiting.
// blockingBrain holds each understanding (of texts containing only, when set) until
// release is closed or the turn's context ends, and says on entered that one waits.
type blockingBrain struct {
	scriptedBrain
	entered chan struct{}
	release chan struct{}
	only    string
}

func (b blockingBrain) Understand(ctx context.Context, text string) (flow.Understanding, error) {
	if b.only == "" || strings.Contains(text, b.only) {
		b.entered <- struct{}{}
		select {
		case <-b.release:
		case <-ctx.Done():
			return flow.Understanding{}, ctx.Err()
		}
	}
	return b.scriptedBrain.Understand(ctx, text)
}

// TestRequestsAndSocketsInFlightAreCapped: a client IP has at most limits.concurrent_per_ip
// customer requests in progress; WebSockets are capped per user and per IP; every
// refusal is a 429 with a clear message, and the places come back when the work ends.
func TestRequestsAndSocketsInFlightAreCapped(t *testing.T) {
	brain := blockingBrain{entered: make(chan struct{}, 8), release: make(chan struct{})}
	_, unique := testenv.Redis(t)
	in := newInstanceWith(t, newPool(t), "inflight"+unique, brain, func(o *Options) {
		o.Limits = RateLimits{Prefix: unique + ":rl", ConcurrentPerIP: 2, WebSocketsPerIP: 3, WebSocketsPerUser: 2}
	})
	base := in.http.URL
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			tok := in.token(t, fmt.Sprintf("web:slow-%d", i), RoleCustomer)
			if code := call(t, base, tok, "POST", "/v1/messages", map[string]any{"text": "refund please"}, nil); code != 200 {
				t.Errorf("slow message %d: %d", i, code)
			}
		})
	}
	<-brain.entered
	<-brain.entered
	var e ErrorBody
	third := in.token(t, "web:third", RoleCustomer)
	if code := call(t, base, third, "POST", "/v1/messages", map[string]any{"text": "refund please"}, &e); code != 429 || !strings.Contains(e.Error, "in progress") {
		t.Fatalf("a third request from the address while two are in progress: %d %+v, want 429", code, e)
	}
	close(brain.release)
	wg.Wait()
	mustCall(t, 200, base, third, "POST", "/v1/messages", map[string]any{"text": "refund please"}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(tok string) (*websocket.Conn, int) {
		u := strings.Replace(base, "http", "ws", 1) + "/v1/chat/ws?access_token=" + tok
		conn, resp, err := websocket.Dial(ctx, u, nil)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { conn.CloseNow() })
		return conn, http.StatusSwitchingProtocols
	}
	a, b := in.token(t, "web:ws-a", RoleCustomer), in.token(t, "web:ws-b", RoleCustomer)
	a1, _ := dial(a)
	dial(a)
	if _, code := dial(a); code != 429 {
		t.Fatalf("a user's third socket (2 per user): %d, want 429", code)
	}
	dial(b)
	if _, code := dial(b); code != 429 {
		t.Fatalf("the address's fourth socket (3 per IP): %d, want 429", code)
	}
	a1.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, code := dial(b); code == http.StatusSwitchingProtocols {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed socket's place did not come back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGuardsCountPlaces: the in-flight caps per key, and the total, in one table.
func TestGuardsCountPlaces(t *testing.T) {
	g := newGuards(RateLimits{}, prometheus.NewRegistry())
	rl := RateLimits{WebSocketsPerIP: 2, WebSocketsPerUser: 1, WebSocketsTotal: 3}
	var got []string
	var leaves []func()
	for _, try := range []struct{ ip, user string }{
		{"1.1.1.1", "u1"}, {"1.1.1.1", "u1"}, {"1.1.1.1", "u2"}, {"1.1.1.1", "u3"}, {"2.2.2.2", "u3"}, {"3.3.3.3", "u4"},
	} {
		leave, err := g.enterSocket(try.ip, try.user, rl)
		if err != nil {
			got = append(got, "refused")
			continue
		}
		got = append(got, "ok")
		leaves = append(leaves, leave)
	}
	want := []string{"ok", "refused", "ok", "refused", "ok", "refused"} // per user, per IP, total
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("sockets (-want +got):\n%s", diff)
	}
	for _, l := range leaves {
		l()
		l() // a second leave gives nothing back twice
	}
	if _, err := g.enterSocket("3.3.3.3", "u4", rl); err != nil {
		t.Fatalf("after every socket closed: %v", err)
	}
	leave, err := g.enterStream("1.1.1.1", "u1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.enterStream("2.2.2.2", "u1", 2); err == nil {
		t.Fatal("a user's second live speech stream was allowed")
	}
	leave()
	if _, err := g.enterStream("2.2.2.2", "u1", 2); err != nil {
		t.Fatalf("after the first stream ended: %v", err)
	}
}

// TestConsoleSignInLimits: sign-in has its own strict budgets per IP and per user name,
// an exponential backoff per user name after failures, a cap on concurrent password
// checks, and it fails closed when Redis cannot be asked.
func TestConsoleSignInLimits(t *testing.T) {
	_, unique := testenv.Redis(t)
	pool := newPool(t)
	// backoff on one replica (budgets out of the way), budgets on another
	in := newInstanceWith(t, pool, "signin"+unique, nil, func(o *Options) {
		o.Limits = RateLimits{Prefix: unique + ":backoff", LoginPerIPPerMinute: 100, LoginPerUserPerMinute: 100}
	})
	budgets := newInstanceWith(t, pool, "signin"+unique, nil, func(o *Options) {
		o.Limits = RateLimits{Prefix: unique + ":budgets", LoginPerIPPerMinute: 5, LoginPerUserPerMinute: 3}
	})
	// alice's hash at bcrypt's lowest cost: the budgets below count attempts within a
	// minute's refill (12 s a token), which slow cost-12 checks under the race detector
	// would spread out; unknown names still cost a full check (the dummy hash).
	hb, err := bcrypt.GenerateFromPassword([]byte("alice-password-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h := string(hb)
	if err := in.store.PutStaffAccount(context.Background(), tickets.StaffAccount{Subject: "alice", Role: "agent", PasswordHash: h}); err != nil {
		t.Fatal(err)
	}
	login := func(base, user, password string) (int, ErrorBody) {
		t.Helper()
		var e ErrorBody
		code := call(t, base, "", "POST", "/v1/auth/login", map[string]string{"username": user, "password": password}, &e)
		return code, e
	}
	// backoff: three failures in a row are free, then the name waits 1 s, then 2 s …
	var codes []int
	for range 4 {
		code, _ := login(in.http.URL, "alice", "wrong-password-0")
		codes = append(codes, code)
	}
	if diff := cmp.Diff([]int{401, 401, 401, 429}, codes); diff != "" {
		t.Fatalf("failed sign-ins in a row (-want +got):\n%s", diff)
	}
	time.Sleep(1100 * time.Millisecond)
	if code, _ := login(in.http.URL, "alice", "wrong-password-0"); code != 401 {
		t.Fatalf("after the 1 s backoff: %d, want 401", code)
	}
	if code, e := login(in.http.URL, "alice", "alice-password-1"); code != 429 || !strings.Contains(e.Error, "failed sign-ins") {
		t.Fatalf("right password within the 2 s backoff: %d %+v, want 429", code, e)
	}
	time.Sleep(2100 * time.Millisecond)
	if code, _ := login(in.http.URL, "alice", "alice-password-1"); code != 200 {
		t.Fatalf("right password after the backoff: %d", code)
	}
	if code, _ := login(in.http.URL, "alice", "wrong-password-0"); code != 401 {
		t.Fatalf("a success starts the count over: %d, want 401", code)
	}
	if code, _ := login(in.http.URL, "mallory", "wrong-password-0"); code != 401 {
		t.Fatalf("an unknown name: %d, want 401", code)
	}

	// budgets: 3 a minute per user name, 5 per address
	codes = nil
	for range 4 {
		code, _ := login(budgets.http.URL, "alice", "alice-password-1")
		codes = append(codes, code)
	}
	if diff := cmp.Diff([]int{200, 200, 200, 429}, codes); diff != "" {
		t.Fatalf("sign-ins of one name (3 a minute) (-want +got):\n%s", diff)
	}
	if code, _ := login(budgets.http.URL, "bob", "wrong-password-0"); code != 401 {
		t.Fatalf("5th attempt from the address: %d, want 401", code)
	}
	if code, e := login(budgets.http.URL, "carol", "wrong-password-0"); code != 429 || !strings.Contains(e.Error, "from your address") {
		t.Fatalf("6th attempt from the address: %d %+v, want 429", code, e)
	}

	t.Run("Redis down fails closed", func(t *testing.T) {
		srv := testenv.PrivateRedis(t)
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
		t.Cleanup(func() { rdb.Close() })
		down := newInstanceWith(t, newPool(t), "signindown", nil, func(o *Options) {
			o.Limits = RateLimits{Redis: rdb, Prefix: "down:rl", LoginPerIPPerMinute: 10, LoginPerUserPerMinute: 10}
		})
		if err := down.store.PutStaffAccount(context.Background(), tickets.StaffAccount{Subject: "alice", Role: "agent", PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
		mustCall(t, 200, down.http.URL, "", "POST", "/v1/auth/login", map[string]string{"username": "alice", "password": "alice-password-1"}, nil)
		srv.Stop()
		var e ErrorBody
		code := call(t, down.http.URL, "", "POST", "/v1/auth/login", map[string]string{"username": "alice", "password": "alice-password-1"}, &e)
		if code != 429 || !strings.Contains(e.Error, "Redis") {
			t.Fatalf("sign-in with Redis down: %d %+v, want it refused", code, e)
		}
	})

	t.Run("password checks at once", func(t *testing.T) {
		busy := newInstanceWith(t, newPool(t), "signinbusy", nil, func(o *Options) { o.Limits = RateLimits{LoginConcurrency: 1} })
		var mu sync.Mutex
		var statuses []int
		var slowest429 time.Duration
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				start := time.Now()
				code := call(t, busy.http.URL, "", "POST", "/v1/auth/login", map[string]string{"username": fmt.Sprintf("user%d", i), "password": "wrong-password-0"}, nil)
				mu.Lock()
				defer mu.Unlock()
				statuses = append(statuses, code)
				if code == 429 {
					slowest429 = max(slowest429, time.Since(start))
				}
			})
		}
		wg.Wait()
		n429 := 0
		for _, c := range statuses {
			if c != 401 && c != 429 {
				t.Fatalf("statuses %v: want only 401 and 429", statuses)
			}
			if c == 429 {
				n429++
			}
		}
		t.Logf("8 sign-ins at once with one password-check slot: %v; the slowest 429 took %s", statuses, slowest429)
		if n429 == 0 || slowest429 > 3*time.Second {
			t.Fatalf("statuses %v, slowest 429 after %s: want some refused quickly", statuses, slowest429)
		}
	})
}
