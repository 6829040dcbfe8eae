//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

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
	think    time.Duration       // a customer's pause between turns
	pace     *rate.Limiter       // with faultOptions.Rate: the customers' shared pace, instead of think
	observe  func(time.Duration) // when set: each acknowledged turn's latency, first attempt to ack
	faultAt  atomic.Int64        // unix nanos of the last fault injected (0: none yet)
	openWS   []atomic.Int32      // web-chat sockets open on each replica
	inFlight []atomic.Int32      // turns sent to each replica and not yet answered
	mu       sync.Mutex
	sessions []*faultSession
	stats    faultLoadStats
	failed   []string // the first accepted attempts that failed, and how
	tgChats  []int64  // the Telegram customers' chats
	// tgResent are the replies (message ids) that were dead letters, re-queued after a
	// channel outage: they arrive after newer ones, so the order check leaves them out.
	tgResent map[int64]bool
}

// faultLoadStats counts what the clients saw.
type faultLoadStats struct {
	Attempts       int // requests and frames sent, retries included
	Refused        int // the connection was refused: not accepted, retried elsewhere
	NotSent        int // a web-chat frame the client could not write (its socket had closed)
	AcceptedFailed int // accepted (sent on an open connection) but failed: 5xx, reset, EOF
	Rejected       int // 4xx other than 429: a bug in the load or the server
	// Unavailable counts 503s with Retry-After (and web-chat "unavailable" error frames
	// with retry_after): a store is down; the client retries the same message id later.
	Unavailable        int
	SlowestUnavailable time.Duration // the longest a 503 took to come
	Reconnects         int           // WebSockets opened again after the first
	Resumed            int           // of which in a conversation, with ?after= the last seq seen
	RESTRepeats        int           // an acknowledged REST message acknowledged again (deduplicated by message id)
	AnsweredLater      int           // acknowledged as a redelivery before the first delivery was answered
	AgentReplies       int
	Resolved           int
	MediaTurns         int            // acknowledged REST turns with a photo or voice note
	Degraded           map[string]int // REST turns whose answer names a stage that failed open, by stage
	RecoveredAt        time.Time      // the last disturbed client's first success after its trouble
}

// faultSession is one customer's conversation as the customer saw it.
type faultSession struct {
	Subject   string
	WS        bool
	Conv      string
	Acked     []string              // message ids acknowledged, in order
	Media     map[string]*faultClip // message id → the photo or voice note it carried
	Escalated bool                  // a turn's acknowledged answer was an escalation
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
	l := &faultLoad{c: c, auth: auth, think: think, openWS: make([]atomic.Int32, len(c.replicas)),
		inFlight: make([]atomic.Int32, len(c.replicas))}
	if c.opts.Rate > 0 {
		l.pace = rate.NewLimiter(rate.Limit(c.opts.Rate), 1)
	}
	return l
}

// pause is a customer's wait before its next turn: the think time, or its place in
// the shared pace. It reports false once ctx ended.
func (l *faultLoad) pause(ctx context.Context) bool {
	if l.pace != nil {
		return l.pace.Wait(ctx) == nil
	}
	return sleepCtx(ctx, l.think)
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

// acked records that s's message mid was acknowledged in conversation conv, and ends
// its trouble. A redelivery answered without a reply (its first delivery died with a
// replica) is answered later, by a queue worker once that replica's lease runs out.
func (l *faultLoad) acked(s *faultSession, mid, conv string, escalated, duplicate, noReply bool) {
	l.mu.Lock()
	s.Conv = conv
	s.Acked = append(s.Acked, mid)
	s.Escalated = s.Escalated || escalated
	if duplicate && noReply {
		s.AnsweredLater++
		l.stats.AnsweredLater++
	}
	l.mu.Unlock()
	l.ok(s)
}

// ackedAfter is acked for a turn first sent at start: it also reports its latency.
func (l *faultLoad) ackedAfter(start time.Time, s *faultSession, mid, conv string, escalated, duplicate, noReply bool) {
	if l.observe != nil {
		l.observe(time.Since(start))
	}
	l.acked(s, mid, conv, escalated, duplicate, noReply)
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

// run drives `customers` customers (every other one over WebSockets) and the
// cluster's Telegram customers until ctx ends, and `agents` scripted agents until
// agentsCtx ends. Stop the agents first: a
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
	for i := range l.c.opts.Telegram {
		cwg.Go(func() { l.telegramCustomer(ctx, i) })
	}
	return cwg, awg
}

// customer runs sessions of 2–5 turns (a third end with an escalation) until ctx ends.
// A customer keeps to the replica that last served it, across sessions (as a load
// balancer's affinity would).
func (l *faultLoad) customer(ctx context.Context, i int) {
	pref := i % len(l.c.replicas)
	if l.pace != nil && !l.pause(ctx) { // paced from the first turn: no burst of every customer at once
		return
	}
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
		clip := l.c.media.clipFor(i, k, last)
		body, ctype := restBody(mid, s.Conv, turnText(mid, k, last), clip)
		acked, start := false, time.Now()
		for attempt := 0; !acked && ctx.Err() == nil; attempt++ {
			r := l.c.replicas[(*pref+attempt)%len(l.c.replicas)]
			l.inFlight[r.idx].Add(1)
			// Once sent, a request is awaited even when the load ends meanwhile.
			sent := time.Now()
			out, status, retry, err := l.post(context.Background(), client, r.base()+"/v1/messages", tok, mid, ctype, body)
			l.inFlight[r.idx].Add(-1)
			l.count(func(st *faultLoadStats) { st.Attempts++ })
			if err == nil && status == http.StatusOK {
				acked = true
				*pref = r.idx
				if out.Duplicate {
					l.count(func(st *faultLoadStats) { st.RESTRepeats++ })
				}
				l.restAcked(s, mid, clip, out.Degraded)
				l.ackedAfter(start, s, mid, out.ConversationID, out.Escalated, out.Duplicate, out.Reply == "")
				break
			}
			if ctx.Err() != nil {
				return
			}
			l.trouble(s)
			if err == nil && l.unavailable(status, retry, time.Since(sent)) {
				attempt-- // the same replica, the same message id, a little later
				continue
			}
			l.classify("POST /v1/messages "+r.addr, err, status)
			sleepCtx(ctx, 100*time.Millisecond)
		}
		if !l.pause(ctx) {
			return
		}
	}
}

// post sends message mid (body of contentType: JSON, or multipart with media); a
// 503's Retry-After is returned as retry.
func (l *faultLoad) post(ctx context.Context, client *http.Client, url, tok, mid, contentType string, body []byte) (out gateway.MessageReply, status int, retry time.Duration, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", contentType)
	// The API is idempotent by message_id: say so, and net/http retries a request whose
	// idle keep-alive connection the server closed while it was sent.
	req.Header.Set("Idempotency-Key", mid)
	resp, err := client.Do(req)
	if err != nil {
		return out, 0, 0, err
	}
	defer resp.Body.Close()
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && resp.StatusCode == http.StatusServiceUnavailable {
		retry = time.Duration(s) * time.Second
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return out, resp.StatusCode, retry, err
	}
	if resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(b, &out)
	}
	return out, resp.StatusCode, retry, err
}

// unavailable reports whether an answer was a 503 with a Retry-After (retry > 0), and
// then counts it and waits before the client sends the same message again: a second
// (not the whole Retry-After, so that recovery measures the server, not the wait). A
// 503 without Retry-After is not: it counts as a failed request.
func (l *faultLoad) unavailable(status int, retry, took time.Duration) bool {
	if status != http.StatusServiceUnavailable || retry <= 0 {
		return false
	}
	l.count(func(st *faultLoadStats) {
		st.Unavailable++
		st.SlowestUnavailable = max(st.SlowestUnavailable, took)
	})
	time.Sleep(min(retry, time.Second))
	return true
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
