// Package video reads customers' video notes for the message flow: a few frames spread
// over the video, for the vision stage to label, and its sound as 16 kHz mono PCM, for
// the speech stage to transcribe. Decoding is Debian's ffmpeg and ffprobe programs (no
// hand-written demuxing or decoding), run under strict limits: the bytes are checked
// first; ffmpeg may open it with the MP4 and Matroska/WebM demuxers alone (no playlist,
// no concat list); ffprobe's report of the container, codecs, duration and size is
// checked against an allow-list and the limits before anything is decoded; every
// program runs single-threaded on a private temporary file, reading nothing else (only
// the file protocol), within one deadline for the whole video, and its output is capped.
package video

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrTooLarge: the video's bytes, duration or frame size are over the limits.
	ErrTooLarge = errors.New("video too large")
	// ErrVideo: not a video this package reads (bad, truncated, another container or
	// codec, or no video track).
	ErrVideo = errors.New("not a readable video")
	// ErrUnavailable: ffmpeg or ffprobe is not installed.
	ErrUnavailable = errors.New("ffmpeg unavailable")
)

// Limits bound the work on one video.
type Limits struct {
	MaxBytes    int64
	MaxDuration time.Duration
	MaxFrames   int // frames sampled
	MaxPixels   int // width×height of the video (and of each frame handed on)
	Timeout     time.Duration
}

// DefaultLimits: 20 MiB, 60 s, 4 frames, 1920×1080, 20 s of decoding.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 20 << 20, MaxDuration: time.Minute, MaxFrames: 4, MaxPixels: 1920 * 1080, Timeout: 20 * time.Second}
}

// Info is what ffprobe said of a video.
type Info struct {
	Duration      time.Duration
	Width, Height int
	Container     string
	VideoCodec    string
	AudioCodec    string // "" without a sound track
}

// Result is a decoded video: frames spread over it (at most MaxFrames, each scaled to
// at most 640 pixels on its longer side) and its sound (nil without a sound track).
type Result struct {
	Info   Info
	Frames []image.Image
	Audio  []int16
}

// The containers and codecs read (ffprobe's names).
var (
	containers  = []string{"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}
	videoCodecs = []string{"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"}
	audioCodecs = []string{"aac", "opus", "vorbis", "mp3"}
)

// demuxers are the only ones ffmpeg may open the file with: a playlist or a concat
// list (which name other files) is refused before it is read.
const demuxers = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"

// frameSide is the longer side of a frame handed on: classifiers crop 224 pixels.
const frameSide = 640

// programs finds ffmpeg and ffprobe: SWITCHBOARD_FFMPEG / SWITCHBOARD_FFPROBE, or PATH.
func programs() (ffmpeg, ffprobe string, err error) {
	find := func(env, name string) (string, error) {
		if p := os.Getenv(env); p != "" {
			return p, nil
		}
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%w: %s not found (apt-get install ffmpeg, or set %s)", ErrUnavailable, name, env)
		}
		return p, nil
	}
	if ffmpeg, err = find("SWITCHBOARD_FFMPEG", "ffmpeg"); err != nil {
		return "", "", err
	}
	ffprobe, err = find("SWITCHBOARD_FFPROBE", "ffprobe")
	return ffmpeg, ffprobe, err
}

// Available is nil when ffmpeg and ffprobe are found.
func Available() error {
	_, _, err := programs()
	return err
}

// Decode reads a video within lim: its frames and its sound.
func Decode(ctx context.Context, data []byte, lim Limits) (Result, error) {
	ffmpeg, ffprobe, err := programs()
	if err != nil {
		return Result{}, err
	}
	if int64(len(data)) > lim.MaxBytes {
		return Result{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	if len(data) == 0 {
		return Result{}, fmt.Errorf("%w: empty", ErrVideo)
	}
	ctx, cancel := context.WithTimeout(ctx, lim.Timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "switchboard-video-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "in")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return Result{}, err
	}
	info, err := probe(ctx, ffprobe, path, lim)
	if err != nil {
		return Result{}, err
	}
	res := Result{Info: info}
	if res.Frames, err = frames(ctx, ffmpeg, path, info, lim); err != nil {
		return Result{}, err
	}
	if info.AudioCodec != "" {
		if res.Audio, err = sound(ctx, ffmpeg, path, lim); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// probe asks ffprobe for the container and streams, and checks them.
func probe(ctx context.Context, ffprobe, path string, lim Limits) (Info, error) {
	out, err := run(ctx, ffprobe, 1<<20, "-v", "error", "-protocol_whitelist", "file", "-format_whitelist", demuxers,
		"-of", "json", "-show_format", "-show_streams", path)
	if err != nil {
		return Info{}, err
	}
	var p struct {
		Format struct {
			Name     string `json:"format_name"`
			Duration string `json:"duration"`
		} `json:"format"`
		Streams []struct {
			Type   string `json:"codec_type"`
			Codec  string `json:"codec_name"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		return Info{}, fmt.Errorf("%w: %v", ErrVideo, err)
	}
	info := Info{Container: p.Format.Name}
	if !slices.Contains(containers, p.Format.Name) {
		return info, fmt.Errorf("%w: container %q (MP4 or WebM)", ErrVideo, p.Format.Name)
	}
	secs, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil || secs <= 0 {
		return info, fmt.Errorf("%w: no duration", ErrVideo)
	}
	info.Duration = time.Duration(secs * float64(time.Second))
	if info.Duration > lim.MaxDuration {
		return info, fmt.Errorf("%w: %s long, at most %s", ErrTooLarge, info.Duration.Round(time.Second), lim.MaxDuration)
	}
	for _, s := range p.Streams {
		switch {
		case s.Type == "video" && info.VideoCodec == "":
			if !slices.Contains(videoCodecs, s.Codec) {
				return info, fmt.Errorf("%w: video codec %q", ErrVideo, s.Codec)
			}
			info.VideoCodec, info.Width, info.Height = s.Codec, s.Width, s.Height
		case s.Type == "audio" && info.AudioCodec == "" && slices.Contains(audioCodecs, s.Codec):
			info.AudioCodec = s.Codec
		}
	}
	if info.VideoCodec == "" || info.Width <= 0 || info.Height <= 0 {
		return info, fmt.Errorf("%w: no video track", ErrVideo)
	}
	if info.Width*info.Height > lim.MaxPixels {
		return info, fmt.Errorf("%w: %d×%d pixels, at most %d", ErrTooLarge, info.Width, info.Height, lim.MaxPixels)
	}
	return info, nil
}

// frames takes MaxFrames frames at even times over the video, scaled to frameSide.
func frames(ctx context.Context, ffmpeg, path string, info Info, lim Limits) ([]image.Image, error) {
	n := max(1, lim.MaxFrames)
	var out []image.Image
	for i := range n {
		at := time.Duration((float64(i) + 0.5) / float64(n) * float64(info.Duration))
		png, err := run(ctx, ffmpeg, frameSide*frameSide*4+1<<16, "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
			"-protocol_whitelist", "file", "-format_whitelist", demuxers, "-ss", strconv.FormatFloat(at.Seconds(), 'f', 3, 64), "-i", path,
			"-frames:v", "1", "-an", "-vf", fmt.Sprintf("scale=w='min(%d,iw)':h='min(%d,ih)':force_original_aspect_ratio=decrease", frameSide, frameSide),
			"-f", "image2pipe", "-c:v", "png", "pipe:1")
		if err != nil {
			return nil, err
		}
		if len(png) == 0 {
			continue // past the last decodable frame of a short or cut video
		}
		img, err := decodePNG(png)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no frame decodes", ErrVideo)
	}
	return out, nil
}

func decodePNG(b []byte) (image.Image, error) {
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: frame: %v", ErrVideo, err)
	}
	return img, nil
}

// sound is the sound track as 16 kHz mono PCM.
func sound(ctx context.Context, ffmpeg, path string, lim Limits) ([]int16, error) {
	limit := int(lim.MaxDuration.Seconds()+1) * 16000 * 2
	raw, err := run(ctx, ffmpeg, limit, "-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1",
		"-protocol_whitelist", "file", "-format_whitelist", demuxers, "-i", path, "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "pipe:1")
	if err != nil {
		return nil, err
	}
	pcm := make([]int16, len(raw)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return pcm, nil
}

// run runs a program in its own process group, killed with the group when ctx ends;
// its output is capped at limit bytes. A failure is ErrVideo with the end of what the
// program said (the private file's path left out).
func run(ctx context.Context, prog string, limit int, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &capped{w: &stderr, left: 4 << 10}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	out, readErr := io.ReadAll(io.LimitReader(stdout, int64(limit)+1))
	if len(out) > limit {
		_ = cmd.Cancel()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%w: more output than the limits allow", ErrTooLarge)
	}
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: not decoded in time: %v", ErrVideo, context.Cause(ctx))
	}
	if err := errors.Join(readErr, waitErr); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("%w: %s", ErrVideo, cleanMessage(msg, args))
	}
	return out, nil
}

// cleanMessage leaves the temporary file's path out of a program's message.
func cleanMessage(msg string, args []string) string {
	for _, a := range args {
		if strings.Contains(a, "switchboard-video-") {
			msg = strings.ReplaceAll(msg, a, "the video")
		}
	}
	if msg == "" {
		return "ffmpeg could not read it"
	}
	return msg
}

// capped writes at most left bytes to w and drops the rest.
type capped struct {
	w    io.Writer
	left int
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if c.left > 0 {
		k := min(c.left, n)
		c.w.Write(p[:k])
		c.left -= k
	}
	return n, nil
}
