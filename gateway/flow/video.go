package flow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"slices"
	"strings"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/vision"
)

// VideoDecoder samples a video's frames and extracts its sound (vision/video, through
// the ffmpeg programs under strict limits).
type VideoDecoder interface {
	DecodeVideo(ctx context.Context, data []byte) (VideoClip, error)
}

// VideoClip is what a video gives a turn: a few frames spread over it, and its sound as
// 16 kHz mono PCM (nil without a sound track).
type VideoClip struct {
	Frames []image.Image
	Audio  []int16
}

// Video configures the video stage: the decoder, and the classifier and speech service
// the frames and the sound go to (either may be missing: that half is left out).
type Video struct {
	Decoder VideoDecoder
	Vision  ImageClassifier
	Speech  *asr.Service
}

func hasVideo(t *pipeline.Turn) bool {
	return slices.ContainsFunc(t.Parts, func(p pipeline.Part) bool { return p.Kind == pipeline.PartVideo && p.Data != nil })
}

// videoStage turns each video of the turn into labels and words: its frames are
// classified like photos (the labels of the frame the classifier was surest of, and the
// categories of every frame, join the turn's), its sound is transcribed like a voice
// note (after any voice note's transcript). It fails open: a video it could not read is
// stored as "[video]".
func videoStage(v Video) pipeline.Stage {
	return pipeline.StageFunc(func(ctx context.Context, t *pipeline.Turn) error {
		var errs []error
		var texts []string
		for _, p := range t.Parts {
			if p.Kind != pipeline.PartVideo || p.Data == nil {
				continue
			}
			clip, err := v.Decoder.DecodeVideo(ctx, p.Data)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			t.VideosRead++
			if v.Vision != nil {
				labels, cats, err := v.classify(ctx, clip.Frames)
				if err != nil {
					errs = append(errs, err)
				}
				t.VideoLabels = append(t.VideoLabels, labels...)
				for _, c := range cats {
					if !slices.Contains(t.Categories, c) {
						t.Categories = append(t.Categories, c)
					}
				}
			}
			if v.Speech != nil && len(clip.Audio) > 0 {
				tr, err := v.Speech.Transcribe(ctx, "", clip.Audio)
				if err != nil {
					errs = append(errs, err)
				} else if s := asr.SpokenDigits(tr.Text); s != "" {
					texts = append(texts, s)
				}
			}
		}
		if len(texts) > 0 {
			t.Transcript = strings.TrimSpace(t.Transcript + "\n" + strings.Join(texts, "\n"))
		}
		return errors.Join(errs...)
	})
}

// classify labels a video's frames and keeps the labels of the frame the classifier
// was surest of, with every frame's categories.
func (v Video) classify(ctx context.Context, frames []image.Image) ([]pipeline.Label, []string, error) {
	var best vision.Result
	var cats []string
	var errs []error
	for _, f := range frames {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, f, &jpeg.Options{Quality: 90}); err != nil {
			errs = append(errs, fmt.Errorf("video frame: %w", err))
			continue
		}
		res, err := v.Vision.Classify(ctx, buf.Bytes())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(res.Labels) > 0 && (len(best.Labels) == 0 || res.Labels[0].Score > best.Labels[0].Score) {
			best = res
		}
		for _, c := range res.Categories {
			if !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
	}
	var labels []pipeline.Label
	for _, l := range best.Labels {
		labels = append(labels, pipeline.Label{Name: shortLabel(l.Name), Score: l.Score})
	}
	return labels, cats, errors.Join(errs...)
}

// videoMarker is how the turn's videos read in the stored transcript: "[video: pelican
// 92% | category: birds]" when their frames were labelled, "[video]" otherwise, and
// "[video: sound transcribed]" when only the sound was read.
func videoMarker(t *pipeline.Turn) string {
	n := 0
	for _, p := range t.Parts {
		if p.Kind == pipeline.PartVideo {
			n++
		}
	}
	switch {
	case n == 0:
		return ""
	case len(t.VideoLabels) > 0:
		return "[video" + strings.TrimPrefix(photoMarker(t.VideoLabels, t.Categories), "[photo")
	case t.VideosRead > 0:
		return "[video: sound transcribed]"
	}
	return strings.TrimSpace(strings.Repeat("[video] ", n))
}
