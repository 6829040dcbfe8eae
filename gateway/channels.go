package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// errChannelOff answers webhooks of channels that are not configured.
var errChannelOff = fmt.Errorf("channel not configured: %w", errNotFound)

// ingest makes a channel turn durable (redact, persist) and wakes the
// queue's workers, which answer it through the channel's Sender. It
// reports whether the caller may acknowledge the delivery.
func (s *Server) ingest(c *gin.Context, t *pipeline.Turn) bool {
	if s.opts.Ingress == nil {
		s.fail(c, fmt.Errorf("%w: this server runs no message pipeline", errUnavailable))
		return false
	}
	t.ReceivedAt = time.Now()
	if err := s.opts.Ingress.Run(c, t); err != nil {
		s.fail(c, err)
		return false
	}
	if s.opts.Wake != nil && !t.Duplicate {
		s.opts.Wake()
	}
	return true
}

// readBody reads a webhook body (already size-limited by middleware).
func readBody(c *gin.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTooLarge, err)
	}
	return b, nil
}

// postJSON sends v to url and decodes the JSON answer into out.
func postJSON(ctx context.Context, client *http.Client, url string, header http.Header, v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %.200s", redactURL(url), resp.Status, body)
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("POST %s: decode answer: %w", redactURL(url), err)
		}
	}
	return nil
}

// redactURL keeps bot tokens in URL paths out of errors and logs.
func redactURL(u string) string {
	before, after, ok := strings.Cut(u, "/bot")
	if !ok {
		return u
	}
	if _, rest, ok := strings.Cut(after, "/"); ok {
		return before + "/bot…/" + rest
	}
	return before + "/bot…"
}
