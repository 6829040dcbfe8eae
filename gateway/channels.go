package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/membudget"
)

// errChannelOff answers webhooks of channels that are not configured.
var errChannelOff = fmt.Errorf("channel not configured: %w", errNotFound)

// ingest makes a channel turn durable (redact, persist) and wakes the
// queue's workers, which answer it through the channel's Sender. It
// reports whether the caller may acknowledge the delivery.
func (s *Server) ingest(c *gin.Context, t *pipeline.Turn) bool {
	if s.flow == nil {
		s.fail(c, fmt.Errorf("%w: %w", errUnavailable, flow.ErrNoPipeline))
		return false
	}
	if !s.allowCustomer(c, t.CustomerRef) {
		return false
	}
	hold, err := s.holdFetchedMedia(c.Request.Context(), t)
	if err != nil {
		s.fail(c, err)
		return false
	}
	defer hold.Release()
	t.ReceivedAt = time.Now()
	if err := s.flow.Receive(c.Request.Context(), t); err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// readBody reads a webhook body (already size-limited by middleware).
// decodeVerified decodes the JSON body of an authenticated delivery into v (what names it
// in errors). Its bytes must be UTF-8: encoding/json would quietly replace invalid ones.
// Authentication comes first, so an unsigned caller learns nothing about parsing.
func decodeVerified(body []byte, v any, what string) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("%w: %s: the body is not valid UTF-8", errBadRequest, what)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: %v", errBadRequest, what, err)
	}
	return nil
}

func readBody(c *gin.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errTooLarge, err)
	}
	return b, nil
}

// postJSON sends v to url and decodes the JSON answer into out. Errors name
// the URL only in its redacted form.
func postJSON(ctx context.Context, client *http.Client, url string, header http.Header, v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return redactErr(err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return redactErr(err)
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

// redactURL keeps credentials out of errors and logs: a bot token in the path
// (Telegram's /bot<token>/…), user info, and the value of every query
// parameter (WeCom's access_token and corpsecret …).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an invalid URL)"
	}
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme + "://")
	}
	b.WriteString(u.Host)
	segs := strings.Split(u.EscapedPath(), "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, "bot") && len(seg) > len("bot") {
			segs[i] = "bot…"
		}
	}
	b.WriteString(strings.Join(segs, "/"))
	if u.RawQuery != "" {
		sep := "?"
		for _, k := range slices.Sorted(maps.Keys(u.Query())) {
			b.WriteString(sep + url.QueryEscape(k) + "=…")
			sep = "&"
		}
	}
	return b.String()
}

// redactErr rewrites the *url.Error that HTTP clients and request builders
// return (its text quotes the whole URL, tokens included) to name the URL
// redacted. It keeps the cause, so a timeout is still a timeout.
func redactErr(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	cause := ue.Err
	if ue.Op == "parse" {
		cause = errors.New("invalid URL") // the parser's message may quote a piece of it
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: cause}
}

// holdFetchedMedia reserves the upload memory of the media a webhook turn names by
// reference, each up to the media limit, before the fetch stage downloads them.
func (s *Server) holdFetchedMedia(ctx context.Context, t *pipeline.Turn) (*membudget.Hold, error) {
	n := int64(0)
	for _, p := range t.Parts {
		if p.Kind != pipeline.PartText && p.Data == nil && p.Ref != "" {
			n += s.maxMediaPart()
		}
	}
	if n == 0 {
		return nil, nil
	}
	return s.opts.Media.HoldUpload(ctx, n)
}
