package channel

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
	"unicode/utf8"
)

// ReadBody reads a delivery's body (the gateway limits its size).
func ReadBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
	}
	return b, nil
}

// DecodeVerified decodes the JSON body of an authenticated delivery into v (what names it
// in errors). Its bytes must be UTF-8: encoding/json would quietly replace invalid ones.
// Authentication comes first, so an unsigned caller learns nothing about parsing.
func DecodeVerified(body []byte, v any, what string) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("%w: %s: the body is not valid UTF-8", ErrBadRequest, what)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadRequest, what, err)
	}
	return nil
}

// Client is client, or http.DefaultClient when nil.
func Client(client *http.Client) *http.Client {
	if client != nil {
		return client
	}
	return http.DefaultClient
}

// PostJSON sends v to url and decodes the JSON answer into out. Errors name the URL only
// in its redacted form.
func PostJSON(ctx context.Context, client *http.Client, url string, header http.Header, v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return RedactErr(err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := Client(client).Do(req)
	if err != nil {
		return RedactErr(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %.200s", RedactURL(url), resp.Status, body)
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("POST %s: decode answer: %w", RedactURL(url), err)
		}
	}
	return nil
}

// Get fetches u, reading at most max bytes of a 200 answer.
func Get(ctx context.Context, client *http.Client, u string, max int64) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, RedactErr(err)
	}
	resp, err := Client(client).Do(req)
	if err != nil {
		return nil, nil, RedactErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil, fmt.Errorf("GET: status %d", resp.StatusCode)
	}
	data, err := ReadLimited(resp.Body, max)
	return resp, data, RedactErr(err) // a body cut off by a timeout says so with the URL
}

// ReadLimited reads r up to max bytes, failing beyond.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w (%d bytes)", ErrMediaTooLarge, max)
	}
	return data, nil
}

// RedactURL keeps credentials out of errors and logs: a bot token in the path
// (Telegram's /bot<token>/…), user info, and the value of every query parameter
// (WeCom's access_token and corpsecret …).
func RedactURL(raw string) string {
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

// RedactErr rewrites the *url.Error that HTTP clients and request builders return (its
// text quotes the whole URL, tokens included) to name the URL redacted. It keeps the
// cause, so a timeout is still a timeout.
func RedactErr(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	cause := ue.Err
	if ue.Op == "parse" {
		cause = errors.New("invalid URL") // the parser's message may quote a piece of it
	}
	return &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: cause}
}
