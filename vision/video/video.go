package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

var (
	// ErrTooLarge: the video's bytes, duration or dimensions (or ffmpeg's output, or the
	// time it takes) are over the limits.
	ErrTooLarge = errors.New("video over the limits")
	// ErrVideo: not a video this package reads (bad, truncated, an image or sound alone,
	// another container or codec).
	ErrVideo = errors.New("not a readable video")
	// ErrUnavailable: ffmpeg or ffprobe is not installed.
	ErrUnavailable = errors.New("video decoding unavailable")
)

// Limits bound the work on one video. A zero field takes its default.
type Limits struct {
	MaxBytes       int64         // the file, default 20 MiB
	MaxDuration    time.Duration // default 60 s
	MaxFrames      int           // frames sampled, default 4
	MaxPixels      int           // width×height of a frame handed on (scaled down to it), default 640×640
	MaxVideoPixels int           // width×height of the video itself, default 3840×2160
	Timeout        time.Duration // wall clock for all the programs run on one video, default 20 s
}

// DefaultLimits: 20 MiB, 60 s, 4 frames of at most 640×640 pixels, a video of at most
// 3840×2160, 20 s of decoding.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 20 << 20, MaxDuration: time.Minute, MaxFrames: 4, MaxPixels: 640 * 640,
		MaxVideoPixels: 3840 * 2160, Timeout: 20 * time.Second}
}

// orDefault fills the zero (or negative) fields of l with DefaultLimits'.
func (l Limits) orDefault() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDuration <= 0 {
		l.MaxDuration = d.MaxDuration
	}
	if l.MaxFrames <= 0 {
		l.MaxFrames = d.MaxFrames
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = d.MaxPixels
	}
	if l.MaxVideoPixels <= 0 {
		l.MaxVideoPixels = d.MaxVideoPixels
	}
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	return l
}

// Info is what ffprobe said of a video. Width and Height are as shown (after rotation).
type Info struct {
	Duration      time.Duration
	Width, Height int
	VideoCodec    string // ffprobe's name: h264, hevc, vp8, vp9, av1, mpeg4
	AudioCodec    string // aac, opus, vorbis, mp3, pcm_s16le, pcm_s16be; "" without sound
	Container     string // ffprobe's name: "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm"
	HasAudio      bool
}

// Result is a decoded video: frames spread over it (at most MaxFrames, each at most
// MaxPixels pixels), when each was shown, and its sound (nil without a sound track).
type Result struct {
	Info       Info
	Frames     []image.Image
	FrameTimes []time.Duration
	Audio      []int16 // 16 kHz mono
}

// programs are the paths of ffmpeg and ffprobe.
type programs struct{ ffmpeg, ffprobe string }

// find finds ffmpeg and ffprobe: SWITCHBOARD_FFMPEG / SWITCHBOARD_FFPROBE, or PATH.
func find() (programs, error) {
	look := func(env, name string) (string, error) {
		p := os.Getenv(env)
		if p == "" {
			p = name
		}
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s not found (install Debian's ffmpeg package: apt-get install ffmpeg, or set %s): %v",
				ErrUnavailable, name, env, err)
		}
		return path, nil
	}
	var p programs
	var err error
	if p.ffmpeg, err = look("SWITCHBOARD_FFMPEG", "ffmpeg"); err != nil {
		return p, err
	}
	p.ffprobe, err = look("SWITCHBOARD_FFPROBE", "ffprobe")
	return p, err
}

// Available is nil when ffmpeg and ffprobe are found, else an ErrUnavailable saying what
// to install.
func Available() error {
	_, err := find()
	return err
}

// errTimeout is the cause of the deadline Decode sets for itself.
var errTimeout = errors.New("time limit")

// Decode probes data, rejects what is over lim or not a video, samples up to MaxFrames
// frames spread over the duration (keyframes preferred), and extracts the sound.
func Decode(ctx context.Context, data []byte, lim Limits) (Result, error) {
	lim = lim.orDefault()
	if int64(len(data)) > lim.MaxBytes {
		return Result{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	if len(data) == 0 {
		return Result{}, fmt.Errorf("%w: empty file", ErrVideo)
	}
	progs, err := find()
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, lim.Timeout, errTimeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "switchboard-video-")
	if err != nil {
		return Result{}, fmt.Errorf("video: temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "in")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return Result{}, fmt.Errorf("video: temporary file: %w", err)
	}
	r := runner{ctx: ctx, input: "file:" + path, dir: dir, lim: lim}
	p, err := r.probe(progs.ffprobe)
	if err != nil {
		return Result{}, err
	}
	res := Result{Info: p.info}
	if res.Frames, res.FrameTimes, err = r.frames(progs.ffmpeg, p); err != nil {
		return Result{}, err
	}
	if p.info.HasAudio {
		if res.Audio, err = r.sound(progs.ffmpeg, p); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}
