//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cs/switchboard/gateway"
)

// Fake PII the load sends (and the checker looks for everywhere afterwards).
const (
	fakePhone = "+1 415 555 0134"
	fakeEmail = "jane.fake.customer@example.com"
)

// faultLoad drives customers through the replicas: REST (POST /v1/messages) and web
// chat WebSockets, sessions of a few turns of which about a third end with "I want a
// human"; and scripted agents that answer and resolve those tickets. A client keeps
// to one replica and, when it fails, retries the same message id on the next one.
type faultLoad struct {
	c        *faultCluster
	auth     *gateway.Auth
	think    time.Duration  // a customer's pause between turns
	faultAt  atomic.Int64   // unix nanos of the last fault injected (0: none yet)
	openWS   []atomic.Int32 // web-chat sockets open on each replica
	inFlight []atomic.Int32 // turns sent to each replica and not yet answered
	mu       sync.Mutex
	sessions []*faultSession
	stats    faultLoadStats
	failed   []string // the first accepted attempts that failed, and how
}

// faultLoadStats counts what the clients saw.
type faultLoadStats struct {
	Attempts       int // requests and frames sent, retries included
	Refused        int // the connection was refused: not accepted, retried elsewhere
	NotSent        int // a web-chat frame the client could not write (its socket had closed)
	AcceptedFailed int // accepted (sent on an open connection) but failed: 5xx, reset, EOF
	Rejected       int // 4xx other than 429: a bug in the load or the server
	Reconnects     int // WebSockets opened again after the first
	Resumed        int // of which in a conversation, with ?after= the last seq seen
	RESTRepeats    int // an acknowledged REST message acknowledged again (deduplicated by message id)
	AnsweredLater  int // acknowledged as a redelivery before the first delivery was answered
	AgentReplies   int
	Resolved       int
	RecoveredAt    time.Time // the last disturbed client's first success after its trouble
}

// faultSession is one customer's conversation as the customer saw it.
type faultSession struct {
	Subject   string
	WS        bool
	Conv      string
	Acked     []string // message ids acknowledged, in order
	Escalated bool     // a turn's acknowledged answer was an escalation
	Seqs      map[int64]int
	AgentSeen bool
	// AnsweredLater counts acknowledgements of a redelivery whose first delivery was
	// still unanswered (it died with a replica): the answer follows in the conversation.
	AnsweredLater int
	lastFrame     time.Time
	byAuthor      map[string]int // distinct message frames by author ("customer", "bot", …)
	disturbed     bool
	disturbedT    time.Time
}

func newFaultLoad(c *faultCluster, think time.Duration) *faultLoad {
	auth, err := gateway.NewAuth([]byte(c.secret), "", "switchboard")
	if err != nil {
		c.t.Fatal(err)
	}
	return &faultLoad{c: c, auth: auth, think: think, openWS: make([]atomic.Int32, len(c.replicas)),
		inFlight: make([]atomic.Int32, len(c.replicas))}
}

func faultHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

func (l *faultLoad) token(subject string, role gateway.Role) string {
	tok, err := l.auth.Issue(subject, role, 2*time.Hour)
	if err != nil {
		l.c.t.Fatal(err)
	}
	return tok
}

func (l *faultLoad) count(f func(*faultLoadStats)) {
	l.mu.Lock()
	f(&l.stats)
	l.mu.Unlock()
}

// trouble records a failed attempt of s; ok records a success (ending its trouble).
func (l *faultLoad) trouble(s *faultSession) {
	l.mu.Lock()
	if !s.disturbed {
		s.disturbed, s.disturbedT = true, time.Now()
	}
	l.mu.Unlock()
}

func (l *faultLoad) ok(s *faultSession) {
	l.mu.Lock()
	if s.disturbed {
		s.disturbed = false
		if now := time.Now(); now.After(l.stats.RecoveredAt) {
			l.stats.RecoveredAt = now
		}
	}
	l.mu.Unlock()
}

// classify counts a failed attempt: refused (never accepted) or accepted and failed.
func (l *faultLoad) classify(what string, err error, status int) {
	l.count(func(st *faultLoadStats) {
		switch {
		case err != nil && errors.Is(err, syscall.ECONNREFUSED):
			st.Refused++
		case err != nil || status >= 500:
			st.AcceptedFailed++
			if len(l.failed) < 20 {
				l.failed = append(l.failed, fmt.Sprintf("%s %s: status %d, %v", time.Now().Format("15:04:05.000"), what, status, err))
			}
		case status == http.StatusTooManyRequests:
		default:
			st.Rejected++
		}
	})
}

// run drives `customers` customers (every other one over WebSockets) until ctx ends,
// and `agents` scripted agents until agentsCtx ends. Stop the agents first: a
// customer's session, once its load ends, stays only until it has the frames of its
// own turns (and of an agent's reply already written).
func (l *faultLoad) run(ctx, agentsCtx context.Context, customers, agents int) (cwg, awg *sync.WaitGroup) {
	cwg, awg = &sync.WaitGroup{}, &sync.WaitGroup{}
	l.setUpAgents(agents)
	for i := range agents {
		awg.Go(func() { l.agent(agentsCtx, i) })
	}
	for i := range customers {
		cwg.Go(func() { l.customer(ctx, i) })
	}
	return cwg, awg
}

// customer runs sessions of 2–5 turns (a third end with an escalation) until ctx ends.
// A customer keeps to the replica that last served it, across sessions (as a load
// balancer's affinity would).
func (l *faultLoad) customer(ctx context.Context, i int) {
	pref := i % len(l.c.replicas)
	for n := 0; ctx.Err() == nil; n++ {
		s := &faultSession{Subject: fmt.Sprintf("load:%d:%d", i, n), WS: i%2 == 1, Seqs: map[int64]int{}, byAuthor: map[string]int{}}
		l.mu.Lock()
		l.sessions = append(l.sessions, s)
		l.mu.Unlock()
		turns, escalate := 2+(i+n)%4, (i+n)%3 == 0
		if s.WS {
			turns += 3 // long enough to be open when a fault comes
		}
		if s.WS {
			l.wsSession(ctx, s, i, &pref, turns, escalate)
		} else {
			l.restSession(ctx, s, i, &pref, turns, escalate)
		}
	}
}

// turnText is a customer's message: an FAQ question, sometimes with fake PII, or the
// request for a human; its message id is in the text so the checker can find it
// however the text was redacted.
func turnText(mid string, k int, escalate bool) string {
	switch {
	case escalate:
		return "I want a human please [" + mid + "]"
	case k%3 == 1:
		return "How long does a refund take? Call me on " + fakePhone + " or mail " + fakeEmail + " [" + mid + "]"
	case k%3 == 2:
		return "How do I reset my password? [" + mid + "]"
	default:
		return "How long does a refund take? [" + mid + "]"
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// restSession sends its turns through POST /v1/messages.
func (l *faultLoad) restSession(ctx context.Context, s *faultSession, i int, pref *int, turns int, escalate bool) {
	tok := l.token(s.Subject, gateway.RoleCustomer)
	client := faultHTTPClient(40 * time.Second)
	defer client.CloseIdleConnections()
	for k := range turns {
		last := escalate && k == turns-1
		mid := fmt.Sprintf("m-%d-%s-%d", i, strings.ReplaceAll(s.Subject, ":", "-"), k)
		body, _ := json.Marshal(map[string]string{"message_id": mid, "conversation_id": s.Conv, "text": turnText(mid, k, last)})
		acked := false
		for attempt := 0; !acked && ctx.Err() == nil; attempt++ {
			r := l.c.replicas[(*pref+attempt)%len(l.c.replicas)]
			l.inFlight[r.idx].Add(1)
			// Once sent, a request is awaited even when the load ends meanwhile.
			out, status, err := l.post(context.Background(), client, r.base()+"/v1/messages", tok, body)
			l.inFlight[r.idx].Add(-1)
			l.count(func(st *faultLoadStats) { st.Attempts++ })
			if err == nil && status == http.StatusOK {
				acked = true
				*pref = r.idx
				l.mu.Lock()
				s.Conv = out.ConversationID
				s.Acked = append(s.Acked, mid)
				s.Escalated = s.Escalated || out.Escalated
				if out.Duplicate {
					l.stats.RESTRepeats++
					if out.Reply == "" {
						s.AnsweredLater++
						l.stats.AnsweredLater++
					}
				}
				l.mu.Unlock()
				l.ok(s)
				break
			}
			if ctx.Err() != nil {
				return
			}
			l.classify("POST /v1/messages "+r.addr, err, status)
			l.trouble(s)
			sleepCtx(ctx, 100*time.Millisecond)
		}
		if !sleepCtx(ctx, l.think) {
			return
		}
	}
}

func (l *faultLoad) post(ctx context.Context, client *http.Client, url, tok string, body []byte) (gateway.MessageReply, int, error) {
	var out gateway.MessageReply
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	// The API is idempotent by message_id: say so, and net/http retries a request whose
	// idle keep-alive connection the server closed while it was sent.
	var m struct {
		MessageID string `json:"message_id"`
	}
	json.Unmarshal(body, &m)
	req.Header.Set("Idempotency-Key", m.MessageID)
	resp, err := client.Do(req)
	if err != nil {
		return out, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return out, resp.StatusCode, err
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &out); err != nil {
			return out, resp.StatusCode, err
		}
	}
	return out, resp.StatusCode, nil
}

// wsConn is one open web-chat socket and what its reader hands over.
type wsConn struct {
	replica int
	conn    *websocket.Conn
	replies chan gateway.ChatFrame // "reply" and "error" frames
	closed  chan struct{}
}

// wsSession sends its turns over the web chat WebSocket; when the socket fails it opens
// one on the next replica with ?after= the last seq it saw, and sends the unacknowledged
// message again (same message id).
func (l *faultLoad) wsSession(ctx context.Context, s *faultSession, i int, pref *int, turns int, escalate bool) {
	tok := l.token(s.Subject, gateway.RoleCustomer)
	var cur *wsConn
	var last atomic.Int64
	var dial func(ctx context.Context) *wsConn
	defer func() { // however the session ends, it reads what its turns produced
		cur = l.wsSettle(s, cur, dial)
		if cur != nil {
			cur.conn.Close(websocket.StatusNormalClosure, "")
		}
	}()
	dial = func(ctx context.Context) *wsConn {
		for attempt := 0; ctx.Err() == nil; attempt++ {
			r := l.c.replicas[(*pref+attempt)%len(l.c.replicas)]
			url := fmt.Sprintf("ws://%s/v1/chat/ws?after=%d", r.addr, last.Load())
			l.mu.Lock()
			if s.Conv != "" {
				url += "&conversation_id=" + s.Conv
			}
			l.mu.Unlock()
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			conn, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
			cancel()
			if err == nil {
				*pref = r.idx
				if s.Conv != "" && last.Load() > 0 {
					l.count(func(st *faultLoadStats) { st.Resumed++ })
				}
				l.openWS[r.idx].Add(1)
				c := &wsConn{replica: r.idx, conn: conn, replies: make(chan gateway.ChatFrame, 8), closed: make(chan struct{})}
				go l.wsRead(c, s, &last)
				return c
			}
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			l.classify("web chat dial "+r.addr, err, status)
			l.trouble(s)
			sleepCtx(ctx, 100*time.Millisecond)
		}
		return nil
	}
	first := true
	for k := range turns {
		lastTurn := escalate && k == turns-1
		mid := fmt.Sprintf("m-%d-%s-%d", i, strings.ReplaceAll(s.Subject, ":", "-"), k)
		frame, _ := json.Marshal(gateway.ChatFrame{Type: "message", MessageID: mid, Text: turnText(mid, k, lastTurn)})
		for acked := false; !acked; {
			if cur == nil {
				if !first {
					l.count(func(st *faultLoadStats) { st.Reconnects++ })
				}
				if cur = dial(ctx); cur == nil {
					return
				}
				first = false
			}
			select {
			case <-cur.closed: // the server closed it (going away) while the customer thought
				cur.conn.CloseNow()
				cur = nil
				continue
			default:
			}
			l.count(func(st *faultLoadStats) { st.Attempts++ })
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := cur.conn.Write(wctx, websocket.MessageText, frame)
			cancel()
			if err != nil { // never sent: not accepted
				l.count(func(st *faultLoadStats) { st.NotSent++ })
				l.trouble(s)
				cur.conn.CloseNow()
				cur = nil
				continue
			}
			{
				var rep gateway.ChatFrame
				// A frame sent is awaited even when the load ends meanwhile: its
				// messages are stored and will come.
				l.inFlight[cur.replica].Add(1)
				rep, err = l.awaitReply(context.Background(), cur, mid)
				l.inFlight[cur.replica].Add(-1)
				if err == nil && rep.Type == "reply" {
					acked = true
					l.mu.Lock()
					s.Conv = rep.ConversationID
					s.Acked = append(s.Acked, mid)
					s.Escalated = s.Escalated || (rep.Reply != nil && rep.Reply.Escalated)
					if rep.Reply != nil && rep.Reply.Duplicate && rep.Reply.Reply == "" {
						// its first delivery died with a replica: a queue worker answers it
						// once that replica's lease runs out
						s.AnsweredLater++
						l.stats.AnsweredLater++
					}
					l.mu.Unlock()
					l.ok(s)
					break
				}
			}
			if ctx.Err() != nil {
				return
			}
			l.classify(fmt.Sprintf("web chat frame on replica %d", cur.replica), err, 0)
			l.trouble(s)
			cur.conn.CloseNow()
			cur = nil
			sleepCtx(ctx, 100*time.Millisecond)
		}
		if !sleepCtx(ctx, l.think) {
			return
		}
	}
	// Stay until the conversation's messages are all here: the agent's reply too after
	// an escalation (or the load ends).
	l.mu.Lock()
	wantAgent := s.Escalated
	l.mu.Unlock()
	for wait := time.Now().Add(30 * time.Second); wantAgent && time.Now().Before(wait); {
		l.mu.Lock()
		seen := s.AgentSeen
		l.mu.Unlock()
		if seen || !sleepCtx(ctx, 100*time.Millisecond) {
			return
		}
		select {
		case <-cur.closed: // the replica went away: follow the conversation elsewhere
			l.count(func(st *faultLoadStats) { st.Reconnects++ })
			if cur = dial(ctx); cur == nil {
				return
			}
		default:
		}
	}
}

// faultLeaseWait bounds the wait for a turn whose replica died while answering it: a
// queue worker answers it once its lease (30 s for REST and web chat) ran out.
const faultLeaseWait = 45 * time.Second

// wsSettle keeps (or opens again) the session's socket until it received a message
// frame for each of its acknowledged turns and the bot's answer to it, and after an
// escalation the agent's reply, and then nothing for 300 ms (5 s at most, or
// faultLeaseWait for a turn answered later): the frames follow the reply, and the load
// may end between the two.
func (l *faultLoad) wsSettle(s *faultSession, cur *wsConn, dial func(context.Context) *wsConn) *wsConn {
	l.mu.Lock()
	within := 5 * time.Second
	if s.AnsweredLater > 0 {
		within = faultLeaseWait // the answer comes once the dead replica's lease ran out
	}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		l.mu.Lock()
		// each turn is one customer message and one bot message (answer or handover)
		done := s.byAuthor["customer"] >= len(s.Acked) && s.byAuthor["bot"] >= len(s.Acked) &&
			(!s.Escalated || s.AgentSeen) && time.Since(s.lastFrame) > 300*time.Millisecond
		l.mu.Unlock()
		if done || ctx.Err() != nil || len(s.Acked) == 0 {
			return cur
		}
		if cur == nil {
			if cur = dial(ctx); cur == nil {
				return nil
			}
			continue
		}
		select {
		case <-cur.closed:
			l.count(func(st *faultLoadStats) { st.Reconnects++ })
			if cur = dial(ctx); cur == nil {
				return nil
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// awaitReply waits for the reply (or error) frame to message mid.
func (l *faultLoad) awaitReply(ctx context.Context, c *wsConn, mid string) (gateway.ChatFrame, error) {
	timeout := time.After(40 * time.Second)
	for {
		select {
		case f := <-c.replies:
			if f.MessageID != mid {
				continue
			}
			if f.Type == "error" {
				return f, errors.New(f.Error)
			}
			return f, nil
		case <-c.closed:
			return gateway.ChatFrame{}, io.ErrUnexpectedEOF
		case <-timeout:
			return gateway.ChatFrame{}, errors.New("no reply within 40s")
		case <-ctx.Done():
			return gateway.ChatFrame{}, ctx.Err()
		}
	}
}

// wsRead records every message frame's seq (counting repeats) until the socket ends.
func (l *faultLoad) wsRead(c *wsConn, s *faultSession, last *atomic.Int64) {
	defer close(c.closed)
	defer l.openWS[c.replica].Add(-1)
	for {
		_, data, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		var f gateway.ChatFrame
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		switch f.Type {
		case "message":
			l.mu.Lock()
			if s.Seqs[f.Seq] == 0 {
				s.byAuthor[f.Author]++
			}
			s.Seqs[f.Seq]++
			s.lastFrame = time.Now()
			if f.Author == "agent" {
				s.AgentSeen = true
			}
			l.mu.Unlock()
			if f.Seq > last.Load() {
				last.Store(f.Seq)
			}
		case "reply", "error":
			select {
			case c.replies <- f:
			default:
			}
		}
	}
}

// setUpAgents creates the skill group and the agents, online.
func (l *faultLoad) setUpAgents(n int) {
	sup := l.token("sam", gateway.RoleSupervisor)
	base := l.c.replicas[0].base()
	must := func(tok, method, path, body string) {
		if code := request(l.c.t, tok, method, base+path, body, nil); code != 200 {
			l.c.t.Fatalf("%s %s: %d", method, path, code)
		}
	}
	must(sup, "PUT", "/v1/skill-groups/general", `{"skills":[]}`)
	for i := range n {
		id := fmt.Sprintf("agent%d", i)
		must(sup, "PUT", "/v1/agents/"+id, `{"groups":["general"],"capacity":4}`)
		must(l.token(id, gateway.RoleAgent), "PUT", "/v1/me/status", `{"status":"online"}`)
	}
}

// agent answers and resolves the tickets it holds until ctx ends. It talks to the
// first replica that answers (agents' consoles reconnect like customers).
func (l *faultLoad) agent(ctx context.Context, i int) {
	id := fmt.Sprintf("agent%d", i)
	tok := l.token(id, gateway.RoleAgent)
	client := faultHTTPClient(20 * time.Second)
	replied := map[string]bool{}
	pref := i % len(l.c.replicas)
	call := func(method, path, body string, out any) int {
		for attempt := range len(l.c.replicas) * 3 {
			r := l.c.replicas[(pref+attempt)%len(l.c.replicas)]
			req, _ := http.NewRequestWithContext(ctx, method, r.base()+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				if ctx.Err() != nil {
					return 0
				}
				var op *net.OpError
				if errors.As(err, &op) {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				return 0
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			pref = r.idx
			if out != nil {
				json.Unmarshal(b, out)
			}
			return resp.StatusCode
		}
		return 0
	}
	beat := time.Now()
	for sleepCtx(ctx, 200*time.Millisecond) {
		if time.Since(beat) > 10*time.Second {
			call("POST", "/v1/me/heartbeat", "", nil)
			beat = time.Now()
		}
		var list struct {
			Tickets []struct {
				ID       string `json:"id"`
				Status   string `json:"status"`
				Assignee string `json:"assignee_id"`
			} `json:"tickets"`
		}
		if call("GET", "/v1/tickets", "", &list) != 200 {
			continue
		}
		for _, tk := range list.Tickets {
			if tk.Status != "assigned" || tk.Assignee != id {
				continue
			}
			if !replied[tk.ID] { // a reply is not idempotent: never sent twice
				replied[tk.ID] = true
				if call("POST", "/v1/tickets/"+tk.ID+"/replies", `{"text":"Hello, this is your agent."}`, nil) == 201 {
					l.count(func(st *faultLoadStats) { st.AgentReplies++ })
				}
			}
			if call("POST", "/v1/tickets/"+tk.ID+"/resolve", "", nil) == 200 {
				l.count(func(st *faultLoadStats) { st.Resolved++ })
			}
		}
	}
}

// awaitTarget waits (10 s at most) until at least n web-chat sockets are open on
// replica i and m turns are in flight there, so that a fault hits live conversations;
// it returns how many of each there were.
func (l *faultLoad) awaitTarget(i int, n, m int32) (sockets, turns int32) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if sockets, turns = l.openWS[i].Load(), l.inFlight[i].Load(); sockets >= n && turns >= m {
			break
		}
	}
	return sockets, turns
}
