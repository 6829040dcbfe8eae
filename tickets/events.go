package tickets

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
)

// Listen receives ticket events from every instance through PostgreSQL
// LISTEN/NOTIFY and calls handle for each, until ctx ends. It reconnects
// after connection loss. onListen (may be nil) runs each time LISTEN is in
// place, with reconnected true after a loss, when events may have been missed.
func (s *Store) Listen(ctx context.Context, log *slog.Logger, handle func(context.Context, Event), onListen func(reconnected bool)) {
	backoff := 100 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		err := s.listenOnce(ctx, handle, func() {
			if onListen != nil {
				onListen(!first)
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

func (s *Store) listenOnce(ctx context.Context, handle func(context.Context, Event), listening func()) error {
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
		var ev Event
		if json.Unmarshal([]byte(n.Payload), &ev) == nil {
			handle(ctx, ev)
		}
	}
}
