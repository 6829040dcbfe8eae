package flow

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/nlp/pii"
	"github.com/switchboard-cs/switchboard/vision"
)

// fakeVideos gives two frames, red then blue; a video whose bytes are "bad" does not read.
type fakeVideos struct{}

func (fakeVideos) DecodeVideo(_ context.Context, data []byte) (VideoClip, error) {
	if string(data) == "bad" {
		return VideoClip{}, errors.New("video: not a video")
	}
	frame := func(c color.RGBA) image.Image {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
		}
		return img
	}
	return VideoClip{Frames: []image.Image{frame(color.RGBA{R: 255}), frame(color.RGBA{B: 255})}}, nil
}

// colourClassifier says "fire engine" of a red frame (70 %) and "ocean" of a blue one
// (90 %), with a category each.
type colourClassifier struct{ seen int }

func (c *colourClassifier) Classify(_ context.Context, data []byte) (vision.Result, error) {
	c.seen++
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return vision.Result{}, err
	}
	r, _, b, _ := img.At(16, 16).RGBA()
	if r > b {
		return vision.Result{Labels: []vision.Label{{Name: "fire engine, fire truck", Score: 0.7}}, Categories: []string{"vehicles"}}, nil
	}
	return vision.Result{Labels: []vision.Label{{Name: "ocean", Score: 0.9}}, Categories: []string{"outdoors"}}, nil
}

// TestVideoStage: a video's frames are classified (the surest frame's labels, every
// frame's categories) and marked in the stored text; one that does not read is marked
// "[video]" and the turn goes on.
func TestVideoStage(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"read", "mp4", "it broke\n[video: ocean 90% | category: vehicles, outdoors]"},
		{"unreadable", "bad", "it broke\n[video]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clf := &colourClassifier{}
			d := Deps{Redactor: pii.NewRedactor(), Video: Video{Decoder: fakeVideos{}, Vision: clf}}
			ingress := pipeline.New(pipeline.NewMetrics(prometheus.NewRegistry()), slog.New(slog.DiscardHandler), d.IngressSteps()...)
			turn := &pipeline.Turn{Channel: "telegram", Parts: []pipeline.Part{{Kind: pipeline.PartText, Text: "it broke"},
				{Kind: pipeline.PartVideo, MIME: "video/mp4", Data: []byte(tc.data)}}}
			if err := ingress.Run(context.Background(), turn); err != nil {
				t.Fatal(err)
			}
			if turn.Text != tc.want {
				t.Errorf("stored text %q, want %q", turn.Text, tc.want)
			}
		})
	}
}
