package audio

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// ErrAudio means the bytes are not audio this package decodes: an unknown container,
// an unsupported encoding, a malformed or truncated header, an invalid sample rate. The
// gateway maps it to 4xx.
var ErrAudio = errors.New("audio: bad audio")

// ErrTooLong means the audio is over Limits, in bytes or in duration. The gateway maps
// it to 413.
var ErrTooLong = errors.New("audio: too long")

// ErrUnavailable means the audio is in a format whose codec library is not installed on
// this server (libopusfile for OGG/Opus); the message names the package to install. It
// is the server's fault, not the client's.
var ErrUnavailable = errors.New("audio: decoder unavailable")

// TargetRate is the sample rate of everything this package returns.
const TargetRate = 16000

// The sample rates accepted on input.
const (
	MinRate = 4000
	MaxRate = 192000
)

// Default limits: 25 MiB of encoded audio and 10 minutes.
const (
	DefaultMaxBytes    = 25 << 20
	DefaultMaxDuration = 10 * time.Minute
)

// Limits bound what Decode and DecodeRaw accept. A zero or negative field takes
// DefaultLimits' value, so the zero Limits is safe, never unlimited.
type Limits struct {
	MaxBytes    int64         // encoded size
	MaxDuration time.Duration // duration of the audio
}

// DefaultLimits returns 25 MiB and 10 minutes.
func DefaultLimits() Limits {
	return Limits{MaxBytes: DefaultMaxBytes, MaxDuration: DefaultMaxDuration}
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDuration <= 0 {
		l.MaxDuration = DefaultMaxDuration
	}
	return l
}

// checkBytes rejects data over the byte limit.
func (l Limits) checkBytes(n int) error {
	if int64(n) > l.MaxBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLong, n, l.MaxBytes)
	}
	return nil
}

// checkFrames rejects frames samples per channel at rate when they last longer than
// MaxDuration.
func (l Limits) checkFrames(frames int64, rate int) error {
	if float64(frames) > l.MaxDuration.Seconds()*float64(rate) {
		return fmt.Errorf("%w: %v of audio, limit %v", ErrTooLong,
			framesDuration(frames, rate).Round(time.Millisecond), l.MaxDuration)
	}
	return nil
}

// framesDuration is how long frames samples per channel last at rate.
func framesDuration(frames int64, rate int) time.Duration {
	return time.Duration(float64(frames) / float64(rate) * float64(time.Second))
}

// Info describes the audio as it was sent, before conversion to 16 kHz mono.
type Info struct {
	Format        string        // "wav" or "opus"
	Encoding      string        // "pcm", "float", "mulaw", "alaw" (WAV); "opus"
	SampleRate    int           // Hz; always 48000 for Opus
	Channels      int           // before the downmix
	BitsPerSample int           // bits per sample in the container; 0 for Opus
	Duration      time.Duration // of the decoded audio
	Truncated     bool          // the WAV data chunk's size was more than the file held, or 0
}

// Decode sniffs the format of data (WAV/RIFF, including WAVE_FORMAT_EXTENSIBLE, or
// OGG/Opus; headerless PCM is never guessed: use DecodeRaw) and returns its samples as
// 16 kHz mono int16 PCM, with channels averaged. Errors wrap ErrAudio, ErrTooLong or
// ErrUnavailable.
func Decode(data []byte, lim Limits) ([]int16, Info, error) {
	lim = lim.withDefaults()
	if err := lim.checkBytes(len(data)); err != nil {
		return nil, Info{}, err
	}
	switch {
	case len(data) >= 12 && (string(data[:4]) == "RIFF" || string(data[:4]) == "RF64") &&
		string(data[8:12]) == "WAVE":
		return decodeWAV(data, lim)
	case bytes.HasPrefix(data, []byte("OggS")):
		return decodeOpus(data, lim)
	case len(data) == 0:
		return nil, Info{}, fmt.Errorf("%w: no data", ErrAudio)
	}
	return nil, Info{}, fmt.Errorf("%w: unknown format (WAV or OGG/Opus expected)", ErrAudio)
}

// DecodeRaw converts headerless 16-bit little-endian mono PCM at sampleRate (the binary
// chunks of the vosk-server protocol, PocketSphinx .raw files) to 16 kHz. The data must
// hold whole samples. Each call is converted on its own; a live stream whose chunks
// should join seamlessly goes through one Resampler instead.
func DecodeRaw(data []byte, sampleRate int, lim Limits) ([]int16, error) {
	lim = lim.withDefaults()
	if err := checkRate(sampleRate); err != nil {
		return nil, err
	}
	if err := lim.checkBytes(len(data)); err != nil {
		return nil, err
	}
	if len(data)%2 != 0 {
		return nil, fmt.Errorf("%w: raw 16-bit PCM of odd length %d bytes", ErrAudio, len(data))
	}
	if err := lim.checkFrames(int64(len(data)/2), sampleRate); err != nil {
		return nil, err
	}
	if sampleRate == TargetRate {
		out := make([]int16, len(data)/2)
		for i := range out {
			out[i] = int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8)
		}
		return out, nil
	}
	r, err := NewResampler(sampleRate)
	if err != nil {
		return nil, err
	}
	out := make([]int16, 0, r.outputLen(int64(len(data)/2)))
	var chunk [chunkFrames]float32
	for len(data) > 0 {
		n := min(len(data)/2, chunkFrames)
		for i := range n {
			chunk[i] = float32(int16(uint16(data[2*i]) | uint16(data[2*i+1])<<8))
		}
		out = r.appendFloat(out, chunk[:n])
		data = data[2*n:]
	}
	return r.appendFlush(out), nil
}

// chunkFrames is how many frames the decoders convert per step on their way to the
// resampler, so that no full-length float copy of the audio is ever held.
const chunkFrames = 4096

// checkRate rejects sample rates outside MinRate…MaxRate.
func checkRate(rate int) error {
	if rate < MinRate || rate > MaxRate {
		return fmt.Errorf("%w: sample rate %d Hz (supported %d–%d)", ErrAudio, rate, MinRate, MaxRate)
	}
	return nil
}
