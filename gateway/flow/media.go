package flow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/vision"
)

// MediaFetcher downloads media a channel delivered by reference (Telegram's file_id,
// WeCom's media_id), at most maxBytes of it.
type MediaFetcher interface {
	FetchMedia(ctx context.Context, ref string, maxBytes int64) ([]byte, error)
}

// ImageClassifier labels a photo (vision/ over the model registry).
type ImageClassifier interface {
	Classify(ctx context.Context, image []byte) (vision.Result, error)
}

// fetchStage downloads the turn's media parts that came by reference (videos only when
// withVideo: something reads them).
func fetchStage(fetchers map[string]MediaFetcher, max int64, withVideo bool) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		f := fetchers[t.Channel]
		var errs []error
		for i := range t.Parts {
			p := &t.Parts[i]
			if p.Kind == pipeline.PartText || p.Data != nil || p.Ref == "" || (p.Kind == pipeline.PartVideo && !withVideo) {
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
