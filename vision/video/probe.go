package video

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The containers and codecs read, as ffprobe names them. The demuxers and decoders that
// ffmpeg may use at all are in run.go.
var (
	containers  = []string{"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"}
	videoCodecs = []string{"h264", "hevc", "vp8", "vp9", "av1", "mpeg4"}
	audioCodecs = []string{"aac", "opus", "vorbis", "mp3", "pcm_s16le", "pcm_s16be"}
)

// maxSide bounds either side of a video, whatever its area.
const maxSide = 8192

// readable is added to why a file is not read.
const readable = "read are MP4/MOV and WebM/Matroska videos in H.264, HEVC, VP8, VP9, AV1 or MPEG-4 " +
	"with AAC, Opus, Vorbis, MP3 or PCM sound"

// probed is what Decode learnt from ffprobe.
type probed struct {
	info           Info
	video, audio   int       // stream indexes; audio -1 without sound
	frames, keys   []float64 // the video's frame and keyframe times, seconds from the start, sorted
	videoEnd       float64   // where the video's last frame ends
	headerDuration float64   // 0 when the header has none (browsers' WebM)
}

// report is ffprobe's JSON: -show_format -show_streams and each packet's time and flags.
type report struct {
	Format struct {
		Name     string `json:"format_name"`
		Duration string `json:"duration"`
		Start    string `json:"start_time"`
	} `json:"format"`
	Streams []struct {
		Index       int               `json:"index"`
		Type        string            `json:"codec_type"`
		Codec       string            `json:"codec_name"`
		Width       int               `json:"width"`
		Height      int               `json:"height"`
		Tags        map[string]string `json:"tags"`
		Disposition struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		SideData []struct {
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Packets []struct {
		Stream   int    `json:"stream_index"`
		PTS      string `json:"pts_time"`
		Duration string `json:"duration_time"`
		Flags    string `json:"flags"`
	} `json:"packets"`
}

// probe runs ffprobe (demuxing only, every packet listed) and checks what it reports
// against the allow-lists and the limits.
func (r runner) probe(ffprobe string) (probed, error) {
	// a packet is about 80 bytes of compact JSON; 500 packets a second over all streams
	// is more than a 240 fps video with its sound has
	limit := 1<<20 + int(r.lim.MaxDuration.Seconds()+1)*500*128
	args := append(r.inputArgs(), "-of", "json=c=1", "-show_format", "-show_streams",
		"-show_entries", "packet=stream_index,pts_time,duration_time,flags", r.input)
	out, err := r.run(ffprobe, limit, args...)
	if errors.Is(err, ErrVideo) {
		return probed{}, fmt.Errorf("%w; %s", err, readable)
	}
	if err != nil {
		return probed{}, err
	}
	var rep report
	if err := json.Unmarshal(out, &rep); err != nil {
		return probed{}, fmt.Errorf("%w: ffprobe's report: %v", ErrVideo, err)
	}
	p, err := streams(rep, r.lim)
	if err != nil {
		return p, err
	}
	if err := p.timing(rep, r.lim); err != nil {
		return p, err
	}
	return p, nil
}

// streams picks the video and sound streams and checks the container, codecs and size.
func streams(rep report, lim Limits) (probed, error) {
	p := probed{video: -1, audio: -1, info: Info{Container: rep.Format.Name}}
	if !slices.Contains(containers, rep.Format.Name) {
		return p, fmt.Errorf("%w: container %q; %s", ErrVideo, rep.Format.Name, readable)
	}
	for _, s := range rep.Streams {
		switch {
		case s.Type == "video" && p.video < 0 && s.Disposition.AttachedPic == 0:
			if !slices.Contains(videoCodecs, s.Codec) {
				return p, fmt.Errorf("%w: video codec %q; %s", ErrVideo, s.Codec, readable)
			}
			p.video, p.info.VideoCodec, p.info.Width, p.info.Height = s.Index, s.Codec, s.Width, s.Height
			if rotated(s.Tags["rotate"], s.SideData) {
				p.info.Width, p.info.Height = s.Height, s.Width
			}
		case s.Type == "audio" && p.audio < 0 && slices.Contains(audioCodecs, s.Codec):
			p.audio, p.info.AudioCodec, p.info.HasAudio = s.Index, s.Codec, true
		}
	}
	w, h := p.info.Width, p.info.Height
	switch {
	case p.video < 0:
		return p, fmt.Errorf("%w: no video track (a picture or sound alone?); %s", ErrVideo, readable)
	case w <= 0 || h <= 0:
		return p, fmt.Errorf("%w: the video track has no size", ErrVideo)
	case w > maxSide || h > maxSide || w*h > lim.MaxVideoPixels:
		return p, fmt.Errorf("%w: %d×%d pixels, at most %d (and %d a side)", ErrTooLarge, w, h, lim.MaxVideoPixels, maxSide)
	}
	return p, nil
}

// rotated: the video is shown turned a quarter (a phone held upright).
func rotated(tag string, side []struct {
	Rotation float64 `json:"rotation"`
}) bool {
	deg, _ := strconv.ParseFloat(tag, 64)
	for _, s := range side {
		if s.Rotation != 0 {
			deg = s.Rotation
		}
	}
	q := int(math.Round(deg/90)) % 2
	return q != 0
}

// timing reads the packets' times: the video's frames and keyframes, where the data ends,
// and checks the duration (the header's and the data's) and truncation.
func (p *probed) timing(rep report, lim Limits) error {
	start, startErr := strconv.ParseFloat(rep.Format.Start, 64)
	p.headerDuration, _ = strconv.ParseFloat(rep.Format.Duration, 64)
	if math.IsNaN(p.headerDuration) || p.headerDuration < 0 {
		p.headerDuration = 0
	}
	type pkt struct {
		stream   int
		pts, dur float64
		key      bool
	}
	var pkts []pkt
	minPTS := math.Inf(1)
	for _, k := range rep.Packets {
		pts, err := strconv.ParseFloat(k.PTS, 64)
		if err != nil || math.IsNaN(pts) || math.IsInf(pts, 0) {
			continue
		}
		dur, _ := strconv.ParseFloat(k.Duration, 64)
		if math.IsNaN(dur) || dur < 0 || dur > 10 {
			dur = 0
		}
		pkts = append(pkts, pkt{k.Stream, pts, dur, strings.HasPrefix(k.Flags, "K")})
		minPTS = min(minPTS, pts)
	}
	if startErr != nil || math.IsNaN(start) || math.IsInf(start, 0) {
		start = minPTS
	}
	dataEnd := 0.0
	for _, k := range pkts {
		at := max(0, k.pts-start)
		dataEnd = max(dataEnd, at+k.dur)
		if k.stream == p.video {
			p.frames = append(p.frames, at)
			p.videoEnd = max(p.videoEnd, at+k.dur)
			if k.key {
				p.keys = append(p.keys, at)
			}
		}
	}
	slices.Sort(p.frames)
	slices.Sort(p.keys)
	return p.checkDuration(dataEnd, lim)
}

// checkDuration checks the header's duration and the data's end against the limit and
// against each other, and sets Info.Duration.
func (p *probed) checkDuration(dataEnd float64, lim Limits) error {
	limit := lim.MaxDuration.Seconds()
	longest := max(p.headerDuration, dataEnd-0.5) // the last packet's duration may overhang
	if longest > limit {
		return fmt.Errorf("%w: %.1f s long, at most %s", ErrTooLarge, max(p.headerDuration, dataEnd), lim.MaxDuration)
	}
	if len(p.frames) == 0 {
		return fmt.Errorf("%w: the video track has no frames", ErrVideo)
	}
	if h := p.headerDuration; h > 0 && dataEnd < h-max(0.5, h/10) {
		return fmt.Errorf("%w: truncated: its data ends at %.1f s of %.1f s", ErrVideo, dataEnd, h)
	}
	d := p.headerDuration
	if d == 0 {
		d = dataEnd
	}
	p.info.Duration = time.Duration(d * float64(time.Second))
	return nil
}
