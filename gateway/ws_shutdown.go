package gateway

import (
	"context"
	"sync"

	"github.com/coder/websocket"
)

// socketSet holds the open WebSockets of every hub (agent pushes, web chat, live speech),
// so that a shutdown can close them: http.Server.Shutdown neither waits for nor closes
// hijacked connections.
type socketSet struct {
	mu     sync.Mutex
	conns  map[*websocket.Conn]struct{}
	closed bool
}

// track adds conn until ctx (the request's, which ends when its handler returns) is done.
// After CloseSockets a new socket is closed at once.
func (ss *socketSet) track(ctx context.Context, conn *websocket.Conn) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		go conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	if ss.conns == nil {
		ss.conns = map[*websocket.Conn]struct{}{}
	}
	ss.conns[conn] = struct{}{}
	context.AfterFunc(ctx, func() {
		ss.mu.Lock()
		delete(ss.conns, conn)
		ss.mu.Unlock()
	})
}

// CloseSockets closes every open WebSocket with status 1001 (going away), so clients
// reconnect to another instance, and waits for the close handshakes (each bounded by the
// library at 5 s). Register it with http.Server.RegisterOnShutdown.
func (s *Server) CloseSockets() {
	ss := &s.sockets
	ss.mu.Lock()
	ss.closed = true
	conns := make([]*websocket.Conn, 0, len(ss.conns))
	for c := range ss.conns {
		conns = append(conns, c)
	}
	ss.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { _ = c.Close(websocket.StatusGoingAway, "server shutting down") })
	}
	wg.Wait()
}
