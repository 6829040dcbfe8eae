package gateway

import (
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

// typingRoutes owns POST /v1/tickets/:id/typing: the agent writing to a ticket's customer
// (its holder, or a supervisor) says they are typing, and the customer's web chat shows
// it for a few seconds. Nothing is stored. Calls count at most once every typingEvery
// per agent and ticket; the rest are answered without telling anyone.
type typingRoutes struct {
	errorWriter
	tickets *tickets.Service
	gate    typingGate
}

// agentTyping answers 202 with "sent": whether this call told the customer.
func (r *typingRoutes) agentTyping(c *gin.Context) {
	ctx, actor, id := c.Request.Context(), actorOf(c), c.Param("id")
	var err error
	sent := r.gate.due(actor.ID+" "+id, time.Now())
	if sent {
		err = r.tickets.AgentTyping(ctx, actor, id)
	} else {
		err = r.tickets.CanWriteTo(ctx, actor, id) // the same answer, whatever the timing
	}
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"sent": sent})
}

// typingGate lets one typing call per key through every typingEvery. The zero value is
// ready.
type typingGate struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// maxTypingKeys bounds the gate's memory; beyond it, keys past their interval go.
const maxTypingKeys = 10000

func (g *typingGate) due(key string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil {
		g.last = map[string]time.Time{}
	}
	if at, ok := g.last[key]; ok && now.Sub(at) < typingEvery {
		return false
	}
	if len(g.last) >= maxTypingKeys {
		for k, at := range g.last {
			if now.Sub(at) >= typingEvery {
				delete(g.last, k)
			}
		}
	}
	g.last[key] = now
	return true
}
