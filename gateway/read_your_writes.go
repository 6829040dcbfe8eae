package gateway

import (
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/tickets"
)

// writeMarks gives a principal read-your-writes over a lagging read replica: it
// remembers when each principal's last request that may have written (any method but
// GET, HEAD, OPTIONS) ended, and marks the context of its later requests with that time
// (tickets.ReadAfter), so the store serves their reads from the primary until the
// replica holds those writes. A mark older than tickets.ReplicaMaxLag is forgotten: by
// then the replica holds the write, or lags so far that every read goes to the primary.
// Marks are per process: a principal's requests are expected to keep to one replica
// (a load balancer's affinity), as the fault harness's clients do.
type writeMarks struct {
	mu    sync.Mutex
	at    map[string]time.Time
	swept time.Time
}

func newWriteMarks() *writeMarks { return &writeMarks{at: map[string]time.Time{}} }

// track is the middleware, after authentication.
func (w *writeMarks) track(c *gin.Context) {
	cl := claimsOf(c)
	if cl == nil {
		c.Next()
		return
	}
	if t, ok := w.last(cl.Subject, time.Now()); ok {
		c.Request = c.Request.WithContext(tickets.ReadAfter(c.Request.Context(), t))
	}
	c.Next()
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		w.mark(cl.Subject, time.Now())
	}
}

// last returns subject's last write mark younger than tickets.ReplicaMaxLag.
func (w *writeMarks) last(subject string, now time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.at[subject]
	return t, ok && now.Sub(t) <= tickets.ReplicaMaxLag
}

// mark records a write of subject at t, and forgets old marks now and then.
func (w *writeMarks) mark(subject string, t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.at[subject] = t
	if t.Sub(w.swept) < tickets.ReplicaMaxLag {
		return
	}
	w.swept = t
	for s, at := range w.at {
		if t.Sub(at) > tickets.ReplicaMaxLag {
			delete(w.at, s)
		}
	}
}
