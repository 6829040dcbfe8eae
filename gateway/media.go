package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// MediaFetcher downloads media a channel delivered by reference (Telegram's file_id,
// WeCom's media_id), at most maxBytes of it.
type MediaFetcher interface {
	FetchMedia(ctx context.Context, ref string, maxBytes int64) ([]byte, error)
}

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

// fetchStage downloads the turn's media parts that came by reference.
func fetchStage(fetchers map[string]MediaFetcher, max int64) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		f := fetchers[t.Channel]
		var errs []error
		for i := range t.Parts {
			p := &t.Parts[i]
			if p.Kind == pipeline.PartText || p.Data != nil || p.Ref == "" {
				continue
			}
			if f == nil {
				errs = append(errs, fmt.Errorf("no media fetcher for channel %s", t.Channel))
				continue
			}
			data, err := f.FetchMedia(ctx, p.Ref, max)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			p.Data = data
		}
		return errors.Join(errs...)
	})
}

// hasMediaToFetch: only turns with referenced media need the fetch stage.
func hasMediaToFetch(t *pipeline.Turn) bool {
	return slices.ContainsFunc(t.Parts, func(p pipeline.Part) bool {
		return p.Kind != pipeline.PartText && p.Data == nil && p.Ref != ""
	})
}

func hasImage(t *pipeline.Turn) bool {
	return slices.ContainsFunc(t.Parts, func(p pipeline.Part) bool { return p.Kind == pipeline.PartImage && p.Data != nil })
}

// visionStage labels the turn's photos; the labels (and support categories) go into
// the stored text, so agents see them and later stages route on them.
func visionStage(clf ImageClassifier) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		var errs []error
		for _, p := range t.Parts {
			if p.Kind != pipeline.PartImage || p.Data == nil {
				continue
			}
			res, err := clf.Classify(ctx, p.Data)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, l := range res.Labels {
				t.Labels = append(t.Labels, pipeline.Label{Name: shortLabel(l.Name), Score: l.Score})
			}
			for _, c := range res.Categories {
				if !slices.Contains(t.Categories, c) {
					t.Categories = append(t.Categories, c)
				}
			}
		}
		return errors.Join(errs...)
	})
}

// shortLabel keeps the first of a label's comma-separated synonyms.
func shortLabel(s string) string {
	if i := strings.IndexByte(s, ','); i > 0 {
		return s[:i]
	}
	return s
}

// photoMarker is how labelled photos read in the stored transcript:
// "[photo: pelican 99%, spoonbill 1% | category: birds]". Labels under 5 % are left out.
func photoMarker(labels []pipeline.Label, categories []string) string {
	var names []string
	for _, l := range labels {
		if l.Score >= 0.05 && len(names) < 3 {
			names = append(names, fmt.Sprintf("%s %.0f%%", markerSafe(l.Name), 100*l.Score))
		}
	}
	if len(names) == 0 {
		names = append(names, "unrecognised")
	}
	m := "[photo: " + strings.Join(names, ", ")
	if len(categories) > 0 {
		safe := make([]string, len(categories))
		for i, c := range categories {
			safe[i] = markerSafe(c)
		}
		m += " | category: " + strings.Join(safe, ", ")
	}
	return m + "]"
}

func markerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '[', ']', '|', ',':
			return ' '
		}
		return r
	}, s)
}

var categoryMarker = regexp.MustCompile(`\[photo: [^\]|]*\| category: ([^\]]*)\]`)

// turnCategories are the support categories of the turn's photos: set by the vision
// stage, or read back from the stored transcript when a queue worker answers the turn.
func turnCategories(t *pipeline.Turn) []string {
	if len(t.Categories) > 0 {
		return t.Categories
	}
	var out []string
	for _, m := range categoryMarker.FindAllStringSubmatch(t.Text, -1) {
		for _, c := range strings.Split(m[1], ",") {
			if c = strings.TrimSpace(c); c != "" && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out
}
