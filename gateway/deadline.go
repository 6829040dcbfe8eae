package gateway

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// noDeadline lists the routes that may legitimately outlive Options.RequestTimeout:
// WebSockets (open for a session) and uploads: models and knowledge-base documents
// (large bodies), and photos and voice notes, whose pipeline stages and classification
// carry their own timeouts.
var noDeadline = map[string]bool{
	"/v1/me/ws":      true,
	"/v1/chat/ws":    true,
	"/v1/asr/ws":     true,
	modelUploadRoute: true,
	messagesRoute:    true,
	classifyRoute:    true,
	kbDocumentsRoute: true,
}

// deadline gives an API request's context Options.RequestTimeout; a handler still
// waiting then sees context.DeadlineExceeded and answers 504.
func (m *middleware) deadline(c *gin.Context) {
	if m.timeout <= 0 || noDeadline[c.FullPath()] || c.Request.Method == http.MethodOptions {
		c.Next()
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), m.timeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}
