package gateway

import (
	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/internal/tracing"
)

// trace serves each request inside a server span named after its route (continuing the
// caller's trace from a traceparent header), so a REST message's turn and every log line
// written with the request's context share the request's trace. The web chat socket's
// turns each get a trace of their own (see chatSockets), linked to the socket's.
func (m *middleware) trace(c *gin.Context) {
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	r, span := tracing.StartServer(c.Request, route)
	c.Request = r
	defer func() { tracing.EndServer(span, c.Writer.Status()) }()
	c.Next()
}
