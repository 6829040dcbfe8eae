package main

import (
	"context"
	"log/slog"

	"github.com/switchboard-cs/switchboard/asr"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/vision/video"
)

// videoDecoder adapts vision/video to the flow's video stage.
type videoDecoder struct{ lim video.Limits }

func (v videoDecoder) DecodeVideo(ctx context.Context, data []byte) (flow.VideoClip, error) {
	res, err := video.Decode(ctx, data, v.lim)
	if err != nil {
		return flow.VideoClip{}, err
	}
	return flow.VideoClip{Frames: res.Frames, Audio: res.Audio}, nil
}

// videoStage is the flow's video reading when ffmpeg is found (frames to classifier, sound
// to the speech service, either may be nil), else off with a warning.
func videoStage(classifier flow.ImageClassifier, sp *asr.Service, log *slog.Logger) flow.Video {
	if err := video.Available(); err != nil {
		log.Warn("video notes are not read; they are stored as [video]", "reason", err)
		return flow.Video{}
	}
	return flow.Video{Decoder: videoDecoder{lim: video.DefaultLimits()}, Vision: classifier, Speech: sp}
}

// checkVideo reports whether video notes are read (ffmpeg and ffprobe found).
func checkVideo() check {
	c := check{Name: "video notes (ffmpeg)"}
	if err := video.Available(); err != nil {
		c.Status, c.Detail, c.Fix = "optional", err.Error()+": video notes are stored as [video], unread", "apt-get install ffmpeg (make run does, as root)"
		return c
	}
	c.Status, c.Detail = "ok", "frames sampled for the vision stage, sound for the speech stage"
	return c
}
