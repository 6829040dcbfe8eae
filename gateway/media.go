package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// errMediaTooLarge means a channel's media is over the size limit.
var errMediaTooLarge = errors.New("media over the size limit")

// readLimited reads r up to max bytes, failing beyond.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w (%d bytes)", errMediaTooLarge, max)
	}
	return data, nil
}

func getMedia(ctx context.Context, client *http.Client, u string, max int64) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, redactErr(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, redactErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp, nil, fmt.Errorf("GET: status %d", resp.StatusCode)
	}
	data, err := readLimited(resp.Body, max)
	return resp, data, redactErr(err) // a body cut off by a timeout says so with the URL
}

// FetchMedia downloads a file by file_id: getFile, then the file path under /file/bot….
func (tg *Telegram) FetchMedia(ctx context.Context, ref string, max int64) ([]byte, error) {
	base := strings.TrimRight(tg.APIBase, "/")
	var res struct {
		OK     bool `json:"ok"`
		Result struct {
			FilePath string `json:"file_path"`
			FileSize int64  `json:"file_size"`
		} `json:"result"`
		Description string `json:"description"`
	}
	if err := postJSON(ctx, tg.client(), base+"/bot"+tg.BotToken+"/getFile", nil, map[string]string{"file_id": ref}, &res); err != nil {
		return nil, fmt.Errorf("telegram: getFile: %w", err)
	}
	if !res.OK || res.Result.FilePath == "" {
		return nil, fmt.Errorf("telegram: getFile: %s", res.Description)
	}
	if res.Result.FileSize > max {
		return nil, fmt.Errorf("telegram: %w (%d bytes)", errMediaTooLarge, res.Result.FileSize)
	}
	_, data, err := getMedia(ctx, tg.client(), base+"/file/bot"+tg.BotToken+"/"+res.Result.FilePath, max)
	if err != nil {
		return nil, fmt.Errorf("telegram: file: %w", err)
	}
	return data, nil
}

// FetchMedia downloads a temporary medium by media_id (media/get).
func (wc *WeCom) FetchMedia(ctx context.Context, ref string, max int64) ([]byte, error) {
	tok, err := wc.accessToken(ctx)
	if err != nil {
		return nil, err
	}
	u := wc.APIBase + "/cgi-bin/media/get?access_token=" + url.QueryEscape(tok) + "&media_id=" + url.QueryEscape(ref)
	resp, data, err := getMedia(ctx, wc.Client, u, max)
	if err != nil {
		return nil, fmt.Errorf("wecom: media/get: %w", err)
	}
	// errors come back as JSON instead of the file
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		var e struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		if json.Unmarshal(data, &e) == nil && e.ErrCode != 0 {
			return nil, fmt.Errorf("wecom: media/get: %d %s", e.ErrCode, e.ErrMsg)
		}
	}
	return data, nil
}
