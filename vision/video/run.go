package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What ffmpeg and ffprobe may open: the file protocol, the MP4 and Matroska demuxers,
// and the decoders of the codecs read.
const (
	protocols = "file"
	demuxers  = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
	decoders  = "h264,hevc,vp8,vp9,libdav1d,mpeg4," + // video
		"aac,opus,libopus,vorbis,libvorbis,mp3float,mp3,pcm_s16le,pcm_s16be" // sound
)

// runner runs ffmpeg and ffprobe on one video's private file within one ctx.
type runner struct {
	ctx   context.Context
	input string // "file:" and the private file's path
	dir   string // the private folder (left out of messages)
	lim   Limits
}

// inputArgs are the options every program opens the file with.
func (r runner) inputArgs() []string {
	maxAlloc := max(64<<20, 8*r.lim.MaxVideoPixels)
	return []string{"-hide_banner", "-loglevel", "error", "-max_alloc", strconv.Itoa(maxAlloc), "-threads", "1",
		"-protocol_whitelist", protocols, "-format_whitelist", demuxers, "-codec_whitelist", decoders}
}

// run runs prog in its own process group, killed with the group when r.ctx ends; at most
// limit bytes of its stdout are read. Failures: ErrVideo with the end of what the program
// said (paths left out), ErrTooLarge over the output cap or the time limit, ctx's error
// when the caller cancelled.
func (r runner) run(prog string, limit int, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(r.ctx, prog, args...)
	cmd.Env = []string{"LC_ALL=C"} // nothing inherited: no FFREPORT, no AV_LOG_FORCE_*
	cmd.Dir = r.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	stderr := &tail{max: 4 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	if err := cmd.Start(); err != nil {
		if err := r.ended(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	out, readErr := io.ReadAll(io.LimitReader(stdout, int64(limit)+1))
	if len(out) > limit {
		_ = cmd.Cancel()
		_ = cmd.Wait()
		return nil, fmt.Errorf("%w: %s wrote more than the %d bytes the limits allow", ErrTooLarge, name(prog), limit)
	}
	waitErr := cmd.Wait()
	if err := r.ended(); err != nil {
		return nil, err
	}
	if err := errors.Join(readErr, waitErr); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrVideo, name(prog), r.message(stderr.String()))
	}
	return out, nil
}

// ended is nil while r.ctx runs; then ErrTooLarge when Decode's time limit passed, else
// ctx's error (the caller cancelled).
func (r runner) ended() error {
	if r.ctx.Err() == nil {
		return nil
	}
	if errors.Is(context.Cause(r.ctx), errTimeout) {
		return fmt.Errorf("%w: not read within %s", ErrTooLarge, r.lim.Timeout)
	}
	return fmt.Errorf("video: %w", r.ctx.Err())
}

// name is a program's base name.
func name(prog string) string { return prog[strings.LastIndexByte(prog, '/')+1:] }

var (
	addresses = regexp.MustCompile(` @ 0x[0-9a-f]+`)
	whitelist = regexp.MustCompile(`not on whitelist '[^']*'`)
	repeated  = regexp.MustCompile(`^\s*Last message repeated`)
)

// message is the end of a program's complaint: its last two lines that say something,
// without the private file's path or pointer values, at most 300 bytes.
func (r runner) message(stderr string) string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		l = whitelist.ReplaceAllString(addresses.ReplaceAllString(l, ""), "not allowed")
		if l != "" && !repeated.MatchString(l) && (len(lines) == 0 || lines[len(lines)-1] != l) {
			lines = append(lines, l)
		}
	}
	lines = lines[max(0, len(lines)-2):]
	msg := strings.Join(lines, "; ")
	msg = strings.ReplaceAll(msg, r.input, "the video")
	msg = strings.ReplaceAll(msg, strings.TrimPrefix(r.input, "file:"), "the video")
	msg = strings.ReplaceAll(msg, r.dir, "…")
	if len(msg) > 300 {
		msg = "…" + msg[len(msg)-300:]
	}
	if msg == "" {
		return "it could not read the file"
	}
	return msg
}

// tail keeps the last max bytes written to it.
type tail struct {
	buf bytes.Buffer
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tail) String() string { return t.buf.String() }
