package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/tickets"
)

// TestWriteMarksGiveReadYourWrites: after a principal's request that may write, its
// later requests carry the mark (tickets.ReadAfter) until it is older than
// tickets.ReplicaMaxLag; reads mark nothing, and other principals are not marked.
func TestWriteMarksGiveReadYourWrites(t *testing.T) {
	gin.SetMode(gin.TestMode)
	w := newWriteMarks()
	var seen *time.Time
	run := func(method, subject string) {
		rec := httptest.NewRecorder()
		c, engine := gin.CreateTestContext(rec)
		engine.Handle(method, "/x", func(c *gin.Context) {
			c.Set(ctxClaims, &Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: subject}})
		}, w.track, func(c *gin.Context) {
			seen = nil
			if t, ok := tickets.ReadAfterTime(c.Request.Context()); ok {
				seen = &t
			}
		})
		c.Request = httptest.NewRequest(method, "/x", nil)
		engine.HandleContext(c)
	}
	before := time.Now()
	run(http.MethodGet, "alice")
	if seen != nil {
		t.Fatal("a principal who never wrote is marked")
	}
	run(http.MethodPost, "alice")
	run(http.MethodGet, "alice")
	if seen == nil || seen.Before(before) {
		t.Fatalf("after a POST the next read carries %v; want the time the POST ended", seen)
	}
	run(http.MethodGet, "bob")
	if seen != nil {
		t.Fatal("another principal is marked by alice's write")
	}
	// a mark older than ReplicaMaxLag is forgotten (and swept by the next write)
	w.mark("carol", time.Now().Add(-tickets.ReplicaMaxLag-time.Second))
	if _, ok := w.last("carol", time.Now()); ok {
		t.Error("a mark older than ReplicaMaxLag still counts")
	}
	w.mark("dave", time.Now().Add(tickets.ReplicaMaxLag+time.Second))
	if _, kept := w.at["carol"]; kept {
		t.Error("an old mark was not swept")
	}
}

// TestChatErrorFrameCarriesRetryAfter: a web-chat turn that failed because a store is
// unavailable is answered like a REST 503: code "unavailable" and retry_after; any other
// server error hides its detail and carries none.
func TestChatErrorFrameCarriesRetryAfter(t *testing.T) {
	cs := &chatSession{r: &chatSockets{errorWriter: errorWriter{log: slog.New(slog.NewTextHandler(io.Discard, nil))}}}
	for _, tc := range []struct {
		name string
		err  error
		want ChatFrame
	}{
		{"database down", fmt.Errorf("message: %w", tickets.ErrUnavailable), ChatFrame{Type: "error", MessageID: "m1", RetryAfter: retryAfterSeconds,
			Error: "unavailable: the database is unavailable; send the message again in a few seconds"}},
		{"bug", errors.New("boom"), ChatFrame{Type: "error", MessageID: "m1", Error: "internal: internal error"}},
		{"bad input", errBadRequest, ChatFrame{Type: "error", MessageID: "m1", Error: "invalid: bad request"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, cs.errorFrame(context.Background(), "m1", tc.err)); diff != "" {
				t.Errorf("frame (-want +got):\n%s", diff)
			}
		})
	}
}
