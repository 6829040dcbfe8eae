package tickets

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/internal/safe"
)

// EventResync is the event Listen hands out after it reconnected: events may
// have been missed meanwhile, so listeners re-read what they show (web-chat
// sessions their conversation, the service its routing weights).
const EventResync = "events.resync"

// Listen receives ticket events from every instance through PostgreSQL
// LISTEN/NOTIFY and calls handle for each, until ctx ends. It reconnects
// after connection loss and then hands out an EventResync. onListen (may be
// nil) runs each time LISTEN is in place, with reconnected true after a loss,
// when events may have been missed. A panic in handle is recovered (and
// reported, see GuardPanics); the listener goes on.
func (s *storeCore) Listen(ctx context.Context, log *slog.Logger, handle func(context.Context, Event), onListen func(reconnected bool)) {
	backoff := 100 * time.Millisecond
	dispatch := func(ev Event) {
		_ = s.panics.Run("events.dispatch", func() { handle(ctx, ev) })
	}
	for first := true; ctx.Err() == nil; first = false {
		err := s.listenOnce(ctx, dispatch, func() {
			if onListen != nil {
				onListen(!first)
			}
			if !first {
				dispatch(Event{Type: EventResync})
			}
		})
		if ctx.Err() != nil {
			return
		}
		log.Warn("ticket event listener lost its connection", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *storeCore) listenOnce(ctx context.Context, dispatch func(Event), listening func()) error {
	conn, err := s.primary.Acquire(ctx)
	if err != nil {
		return err
	}
	// A LISTEN connection must not go back to the pool.
	pc := conn.Hijack()
	defer pc.Close(context.Background())
	if _, err := pc.Exec(ctx, `LISTEN `+EventChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := pc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		for _, ev := range decodeEvents(n.Payload) {
			dispatch(ev)
		}
	}
}

// decodeEvents reads a notification's payload: a batch of events (a JSON
// array, as the announcer sends them) or one event (a JSON object, as the
// other senders write it). A payload that is neither gives none.
func decodeEvents(payload string) []Event {
	if strings.HasPrefix(payload, "[") {
		var batch []Event
		if json.Unmarshal([]byte(payload), &batch) != nil {
			return nil
		}
		return batch
	}
	var ev Event
	if json.Unmarshal([]byte(payload), &ev) != nil {
		return nil
	}
	return []Event{ev}
}

// maxNotifyPayload is the longest payload one notification carries:
// PostgreSQL refuses 8000 bytes or more.
const maxNotifyPayload = 7999

// packEvents packs events (JSON objects), in order, into as few batch
// payloads (JSON arrays) of at most limit bytes as they fit in. An event
// too long to fit in a batch of its own is left out: PostgreSQL would
// refuse it, and with it every other notification of the transaction.
func packEvents(events []string, limit int) []string {
	var out []string
	var b strings.Builder
	for _, ev := range events {
		if len(ev)+2 > limit {
			continue
		}
		if b.Len() > 0 && b.Len()+1+len(ev)+1 > limit {
			b.WriteByte(']')
			out = append(out, b.String())
			b.Reset()
		}
		if b.Len() == 0 {
			b.WriteByte('[')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(ev)
	}
	if b.Len() > 0 {
		b.WriteByte(']')
		out = append(out, b.String())
	}
	return out
}

// maxQueuedAnnouncements bounds the events waiting to be sent; beyond it
// new ones are dropped (announcements are best effort, see AnnounceMessage).
const maxQueuedAnnouncements = 10000

// announceLinger is how long the announcer lets events gather before it
// sends a batch: a live push waits that much longer, and at a steady load
// of turns (two events each) the batches hold several events instead of
// one, so PostgreSQL runs fewer NOTIFY transactions and the listeners wake
// fewer times.
const announceLinger = 5 * time.Millisecond

// announcer batches events that are sent after their data committed. The
// first event queued while no batch is in flight starts a goroutine that
// waits linger, sends everything queued, and again, until the queue is
// empty; so at most one batch per process is in flight and a burst of
// commits costs one NOTIFY transaction instead of one each. The zero value
// is ready (without linger).
type announcer struct {
	mu      sync.Mutex
	queue   []string
	sending bool
	linger  time.Duration
	guard   *safe.Guard // recovers a panicking send (nil: recovered all the same)
}

// add queues payload; send delivers a batch (it gets a context of its own,
// detached from the caller's cancellation, since the data already
// committed).
func (a *announcer) add(ctx context.Context, payload string, send func(context.Context, []string) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queue) >= maxQueuedAnnouncements {
		return
	}
	a.queue = append(a.queue, payload)
	if a.sending {
		return
	}
	a.sending = true
	go a.drain(context.WithoutCancel(ctx), send)
}

func (a *announcer) drain(ctx context.Context, send func(context.Context, []string) error) {
	for {
		if a.linger > 0 {
			time.Sleep(a.linger)
		}
		a.mu.Lock()
		batch := a.queue
		a.queue = nil
		if len(batch) == 0 {
			a.sending = false
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		_ = a.guard.Run("events.announce", func() {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_ = send(sctx, batch) // best effort: listeners catch up on the next event
		})
	}
}
