package video

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"
	"strconv"
	"strings"
	"time"
)

// epsilon is how much earlier than a wanted time a frame may be shown and still be taken
// (printed times are rounded; frames are at least 4 ms apart at 240 fps).
const epsilon = 0.0005

// sampling is which frames to take: the first frame shown at or after each time.
type sampling struct {
	at      []float64 // seconds from the start, increasing
	keyOnly bool      // every time is a keyframe's: the decoder may skip the others
}

// plan cuts the video into n equal slots and takes from each the keyframe nearest its
// middle, or, in a slot without one, the frame at its middle.
func plan(p probed, n int) sampling {
	span := p.videoEnd
	if span <= 0 {
		span = p.info.Duration.Seconds()
	}
	s := sampling{keyOnly: true}
	for i := range n {
		lo, hi := float64(i)*span/float64(n), float64(i+1)*span/float64(n)
		mid := (lo + hi) / 2
		best := math.NaN()
		for _, k := range p.keys {
			if k >= lo && k < hi && (math.IsNaN(best) || math.Abs(k-mid) < math.Abs(best-mid)) {
				best = k
			}
		}
		if math.IsNaN(best) {
			best, s.keyOnly = mid, false
		}
		s.at = append(s.at, best)
	}
	return s
}

// expr is the select filter's expression: a frame is taken when it is shown at or after
// the time of the next frame wanted (selected_n counts the frames taken).
func (s sampling) expr() string {
	next := "1e12"
	for i := len(s.at) - 1; i >= 0; i-- {
		t := strconv.FormatFloat(s.at[i]-epsilon, 'f', 6, 64)
		next = fmt.Sprintf("if(eq(selected_n,%d),%s,%s)", i, t, next)
	}
	return "gte(t," + next + ")"
}

// times says when the frames taken are shown, from the frames' times: the same choice as
// expr's, over the frames the decoder will see.
func (s sampling) times(p probed) []time.Duration {
	seen := p.frames
	if s.keyOnly {
		seen = p.keys
	}
	var out []time.Duration
	for _, t := range seen {
		if len(out) < len(s.at) && t >= s.at[len(out)]-epsilon {
			out = append(out, time.Duration(t*float64(time.Second)))
		}
	}
	return out
}

// frameSize is w×h scaled down, keeping its aspect, to at most maxPixels pixels.
func frameSize(w, h, maxPixels int) (int, int) {
	if w*h <= maxPixels {
		return w, h
	}
	f := math.Sqrt(float64(maxPixels) / float64(w*h))
	sw, sh := max(1, int(float64(w)*f)), max(1, int(float64(h)*f))
	for sw*sh > maxPixels {
		if sw >= sh {
			sw--
		} else {
			sh--
		}
	}
	return sw, sh
}

// frames takes the planned frames in one ffmpeg run (which stops after the last), scaled
// to at most MaxPixels, as PNG.
func (r runner) frames(ffmpeg string, p probed) ([]image.Image, []time.Duration, error) {
	n := r.lim.MaxFrames
	s := plan(p, n)
	w, h := frameSize(p.info.Width, p.info.Height, r.lim.MaxPixels)
	filter := fmt.Sprintf("select='%s',scale=%d:%d:flags=area,format=rgb24", s.expr(), w, h)
	args := r.inputArgs()
	if s.keyOnly {
		args = append(args, "-skip_frame", "nokey")
	}
	args = append(args, "-nostdin", "-filter_threads", "1", "-i", r.input,
		"-map", "0:"+strconv.Itoa(p.video), "-an", "-sn", "-dn", "-vf", filter, "-fps_mode", "passthrough",
		"-frames:v", strconv.Itoa(n), "-c:v", "png", "-compression_level", "1", "-f", "image2pipe", "pipe:1")
	out, err := r.run(ffmpeg, n*(r.lim.MaxPixels*4+64<<10), args...)
	if err != nil {
		return nil, nil, err
	}
	var imgs []image.Image
	for rd := bytes.NewReader(out); rd.Len() > 0; {
		img, err := png.Decode(rd)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: frame %d: %v", ErrVideo, len(imgs)+1, err)
		}
		if b := img.Bounds(); b.Dx()*b.Dy() > r.lim.MaxPixels {
			return nil, nil, fmt.Errorf("%w: a frame of %d×%d pixels", ErrTooLarge, b.Dx(), b.Dy())
		}
		imgs = append(imgs, img)
	}
	if len(imgs) == 0 {
		return nil, nil, fmt.Errorf("%w: no frame decodes", ErrVideo)
	}
	times := s.times(p)
	for len(times) < len(imgs) { // a frame the packets did not foretell: its slot's time
		times = append(times, time.Duration(s.at[len(times)]*float64(time.Second)))
	}
	return imgs, times[:len(imgs)], nil
}

// sound is the sound track as 16 kHz mono PCM, at most MaxDuration of it.
func (r runner) sound(ffmpeg string, p probed) ([]int16, error) {
	limit := int(r.lim.MaxDuration.Seconds()+1)*16000*2 + 64<<10
	args := append(r.inputArgs(), "-nostdin", "-i", r.input, "-map", "0:"+strconv.Itoa(p.audio), "-vn", "-sn", "-dn",
		"-ac", "1", "-ar", "16000", "-t", strings.TrimSuffix(strconv.FormatFloat(r.lim.MaxDuration.Seconds(), 'f', 3, 64), ".000"),
		"-c:a", "pcm_s16le", "-f", "s16le", "pipe:1")
	raw, err := r.run(ffmpeg, limit, args...)
	if err != nil {
		return nil, err
	}
	pcm := make([]int16, len(raw)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return pcm, nil
}
