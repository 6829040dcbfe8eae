//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/tickets"
)

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
			status, retry := 0, time.Duration(0)
			if resp != nil {
				status = resp.StatusCode
				if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
					retry = time.Duration(s) * time.Second
				}
			}
			l.trouble(s)
			if l.unavailable(status, retry, 0) {
				attempt-- // the same replica, later
				continue
			}
			l.classify("web chat dial "+r.addr, err, status)
			sleepCtx(ctx, 100*time.Millisecond)
		}
		return nil
	}
	first := true
	for k := range turns {
		lastTurn := escalate && k == turns-1
		mid := fmt.Sprintf("m-%d-%s-%d", i, strings.ReplaceAll(s.Subject, ":", "-"), k)
		frame, _ := json.Marshal(gateway.ChatFrame{Type: "message", MessageID: mid, Text: turnText(mid, k, lastTurn)})
		start := time.Now()
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
				sent := time.Now()
				rep, err = l.awaitReply(context.Background(), cur, mid)
				l.inFlight[cur.replica].Add(-1)
				if err == nil && rep.Type == "reply" {
					acked = true
					r := rep.Reply
					l.ackedAfter(start, s, mid, rep.ConversationID, r != nil && r.Escalated, r != nil && r.Duplicate, r != nil && r.Reply == "")
					break
				}
				// a store is down: the same frame again on the same socket, later
				if rep.Type == "error" && l.unavailable(http.StatusServiceUnavailable, time.Duration(rep.RetryAfter)*time.Second, time.Since(sent)) {
					l.trouble(s)
					continue
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
		if !l.pause(ctx) {
			return
		}
	}
	// Stay until the conversation's messages are all here: after an escalation the
	// agent's reply and the rating request its resolution sends, which may come seconds
	// later when the resolve had to be retried (or the load ends).
	l.mu.Lock()
	wantAgent := s.Escalated
	l.mu.Unlock()
	for wait := time.Now().Add(30 * time.Second); wantAgent && time.Now().Before(wait); {
		l.mu.Lock()
		seen := s.helped()
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
// queue worker answers it once its lease ran out.
const faultLeaseWait = 45 * time.Second

// wsSettle keeps (or opens again) the session's socket until it received a message
// frame for each of its acknowledged turns and the bot's answer to it, and after an
// escalation the agent's reply and the rating request of its resolution, and then nothing for 300 ms (5 s at most, or
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
		// each turn is one customer message and one bot message (answer or handover); an
		// escalation's agent replies and resolves, and the resolution asks for a rating:
		// it may come well over 300 ms after the reply on a loaded machine
		done := s.byAuthor["customer"] >= len(s.Acked) && s.byAuthor["bot"] >= len(s.Acked) &&
			(!s.Escalated || s.helped()) && time.Since(s.lastFrame) > 300*time.Millisecond
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

// helped reports whether an agent replied in s and resolved it (the resolution sends
// the customer a rating request): a customer whose agent is slower to resolve than to
// reply stays for it. Call with l.mu held.
func (s *faultSession) helped() bool {
	return s.AgentSeen && s.byAuthor[tickets.AuthorCSAT] > 0
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
