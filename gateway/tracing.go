package gateway

import (
	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/internal/tracing"
)

// untraced are the routes served without a span: the probes and the scrape, polled every
// few seconds, would bury the turns' traces.
var untraced = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// trace serves each request inside a server span named after its route, so a REST
// message's turn and every log line written with the request's context share the
// request's trace. The trace is the request's own: a caller's traceparent is only linked
// (see tracing.StartServer). The web chat socket's turns each get a trace of their own
// (see chatSockets), linked to the socket's. Probes and /metrics are not traced.
func (m *middleware) trace(c *gin.Context) {
	route := c.FullPath()
	if untraced[route] {
		c.Next()
		return
	}
	if route == "" {
		route = "unmatched"
	}
	r, span := tracing.StartServer(c.Request, route)
	c.Request = r
	defer func() { tracing.EndServer(span, c.Writer.Status()) }()
	c.Next()
}
