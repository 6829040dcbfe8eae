package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

const (
	// maxBody bounds a response body; a larger one is ErrBadResponse.
	maxBody = 4 << 20
	// maxBackoff caps the exponential backoff.
	maxBackoff = 2 * time.Second
	// maxRetryAfter caps a Retry-After honoured when the caller set no deadline.
	maxRetryAfter = 30 * time.Second
)

// errStaleToken marks a 401 answered to a cached OAuth2 token, now dropped: the
// request is repeated once with a fresh token (sessions expire, e.g. Salesforce's).
var errStaleToken = staleToken{}

type staleToken struct{}

func (staleToken) Error() string { return "" }

// retryable reports whether a failed attempt may be repeated: timeouts and
// unavailability (5xx, 429, network), never a 4xx, a bad answer or cancellation.
func retryable(err error) bool {
	return (errors.Is(err, ErrTimeout) || errors.Is(err, ErrUnavailable)) && !errors.Is(err, context.Canceled)
}

// withRetries runs attempts until one succeeds, fails for good, the retries are
// spent or the next wait would not fit before the caller's deadline.
func (c *Connector) withRetries(ctx context.Context, o *operation, data map[string]string, attempts *int) (Result, error) {
	fresh := false
	for retry := 0; ; retry++ {
		*attempts++
		res, after, err := c.attempt(ctx, o, data)
		if errors.Is(err, errStaleToken) && !fresh && ctx.Err() == nil {
			fresh, retry = true, retry-1
			continue
		}
		if err == nil || !retryable(err) || retry >= c.cfg.Retries || ctx.Err() != nil {
			return res, c.annotate(err, *attempts)
		}
		wait := c.backoff(retry)
		if after > wait {
			wait = after
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			return res, c.annotate(err, *attempts)
		} else if !ok && wait > maxRetryAfter {
			return res, c.annotate(err, *attempts)
		}
		c.log.DebugContext(ctx, "connector retry", "operation", o.name, "outcome", Outcome(err), "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return Result{}, c.annotate(transportError(ctx, "waiting to retry", ctx.Err()), *attempts)
		case <-t.C:
		}
	}
}

func (c *Connector) annotate(err error, attempts int) error {
	if err == nil || !retryable(err) || attempts == 1 {
		return err
	}
	return fmt.Errorf("%w (after %d attempts)", err, attempts)
}

// backoff is RetryBackoff·2^retry, capped, with jitter over its upper half.
func (c *Connector) backoff(retry int) time.Duration {
	d := c.cfg.RetryBackoff << min(retry, 16)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// attempt sends one request within Config.Timeout. after is the Retry-After of a 429
// or 503 answer.
func (c *Connector) attempt(ctx context.Context, o *operation, data map[string]string) (res Result, after time.Duration, err error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, body, err := o.request(actx, c.base, data)
	if err != nil {
		return Result{}, 0, err
	}
	for k, v := range c.cfg.Headers {
		if req.Header.Get(k) == "" {
			req.Header.Set(k, v)
		}
	}
	if err := c.auth.authorize(actx, req, body); err != nil {
		return Result{}, 0, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the URL, and so maybe an input value
		}
		return Result{}, 0, transportError(actx, "request", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return Result{}, 0, transportError(actx, "reading the answer", err)
	}
	st := resp.StatusCode
	switch {
	case slices.Contains(o.notFound, st):
		return Result{}, 0, fmt.Errorf("%w: status %d", ErrNotFound, st)
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		if st == http.StatusUnauthorized && c.auth.rejected() {
			return Result{}, 0, fmt.Errorf("%w: status %d%w", ErrAuth, st, errStaleToken)
		}
		return Result{}, 0, fmt.Errorf("%w: status %d", ErrAuth, st)
	case st == http.StatusTooManyRequests || st >= 500:
		return Result{}, retryAfter(resp.Header.Get("Retry-After"), time.Now()), fmt.Errorf("%w: status %d", ErrUnavailable, st)
	case st >= 400:
		return Result{}, 0, fmt.Errorf("%w: status %d", ErrRejected, st)
	case st < 200 || st > 299:
		return Result{}, 0, fmt.Errorf("%w: status %d", ErrBadResponse, st)
	case len(raw) > maxBody:
		return Result{}, 0, fmt.Errorf("%w: the answer exceeds %d bytes", ErrBadResponse, maxBody)
	}
	res, err = o.decode(raw)
	return res, 0, err
}

// transportError classifies a failure to get an answer: the caller's cancellation,
// a deadline (ErrTimeout), or anything else (ErrUnavailable).
func transportError(ctx context.Context, what string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled) || errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", what, context.Canceled)
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %s: %w", ErrTimeout, what, context.DeadlineExceeded)
	}
	var to interface{ Timeout() bool }
	if errors.As(err, &to) && to.Timeout() {
		return fmt.Errorf("%w: %s: %v", ErrTimeout, what, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrUnavailable, what, err)
}

// retryAfter parses a Retry-After header (seconds or an HTTP date); 0 if absent.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
