package gateway

import (
	"context"
	"net/url"
	"sync"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"
)

// socketSet accepts the WebSockets of every hub (agent pushes, web chat, live speech) and
// holds them while they are open, so that a shutdown can close them:
// http.Server.Shutdown neither waits for nor closes hijacked connections.
type socketSet struct {
	origins []string // Options.AllowedOrigins
	mu      sync.Mutex
	conns   map[*websocket.Conn]struct{}
	closed  bool
}

// accept upgrades a WebSocket request and tracks the socket; browsers on AllowedOrigins
// may connect as well as same-origin pages (the library's default refuses other origins).
func (ss *socketSet) accept(c *gin.Context) (*websocket.Conn, error) {
	var opts *websocket.AcceptOptions
	if len(ss.origins) > 0 {
		hosts := make([]string, 0, len(ss.origins))
		for _, o := range ss.origins {
			if u, err := url.Parse(o); err == nil && u.Host != "" {
				hosts = append(hosts, u.Host)
			}
		}
		opts = &websocket.AcceptOptions{OriginPatterns: hosts}
	}
	conn, err := websocket.Accept(c.Writer, c.Request, opts)
	if err == nil {
		ss.track(c.Request.Context(), conn)
	}
	return conn, err
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
	ss := s.sockets
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
