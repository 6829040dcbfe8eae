// Package asreval loads the speech evaluation sets of the shared data (recordings with
// reference transcripts) and scores a recognizer on them by word error rate and
// real-time factor. `switchboard bench asr` and the engines' tests use it.
package asreval

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
)

// ErrMissing means a set's files (or, for the synthesized set, espeak-ng) are not on
// this machine.
var ErrMissing = errors.New("asreval: evaluation data missing")

// Utterance is one recording of a set with its reference transcript.
type Utterance struct {
	ID  string
	PCM []int16 // 16 kHz mono
	Ref string
}

// Seconds is the audio duration of utts.
func Seconds(utts []Utterance) float64 {
	n := 0
	for _, u := range utts {
		n += len(u.PCM)
	}
	return float64(n) / asr.SampleRate
}

// Set is one evaluation set; Load reads it from the shared data folder (the folder
// holding speech_en_pocketsphinx_librivox/, fsdd_test/, …).
type Set struct {
	Name string
	Load func(data string) ([]Utterance, error)
}

// Sets are the speech sets: librivox (read speech), cards (commands), goforward
// (headerless PCM), vosk_testwav (digits), fsdd (spoken digits, 8 kHz resampled) and
// espeak (synthesized customer sentences).
func Sets() []Set {
	return []Set{{"librivox", Librivox}, {"cards", Cards}, {"goforward", GoForward},
		{"vosk_testwav", VoskTestWAV}, {"fsdd", FSDD}, {"espeak", Espeak}}
}

func stat(p string) error {
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("%w: %v", ErrMissing, err)
	}
	return nil
}

// DecodeFile reads a WAV (or OGG/Opus) file as 16 kHz mono.
func DecodeFile(path string) ([]int16, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMissing, err)
	}
	pcm, _, err := audio.Decode(data, audio.Limits{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pcm, nil
}

// Librivox: five read-speech utterances, references in <id>.txt.
func Librivox(data string) ([]Utterance, error) {
	dir := filepath.Join(data, "speech_en_pocketsphinx_librivox")
	ids, err := lines(filepath.Join(dir, "fileids"))
	if err != nil {
		return nil, err
	}
	var out []Utterance
	for _, id := range ids {
		ref, err := os.ReadFile(filepath.Join(dir, id+".txt"))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMissing, err)
		}
		pcm, err := DecodeFile(filepath.Join(dir, id+".wav"))
		if err != nil {
			return nil, err
		}
		out = append(out, Utterance{id, pcm, strings.TrimSpace(string(ref))})
	}
	return out, nil
}

var sphinxTranscript = regexp.MustCompile(`^<s>\s*(.*?)\s*</s>\s*\((\S+)\)$`)

// Cards: five card-game commands, references in cards.transcription (Sphinx format).
func Cards(data string) ([]Utterance, error) {
	dir := filepath.Join(data, "speech_en_pocketsphinx_cards")
	ls, err := lines(filepath.Join(dir, "cards.transcription"))
	if err != nil {
		return nil, err
	}
	var out []Utterance
	for _, l := range ls {
		m := sphinxTranscript.FindStringSubmatch(l)
		if m == nil {
			return nil, fmt.Errorf("cards.transcription: unexpected line %q", l)
		}
		pcm, err := DecodeFile(filepath.Join(dir, m[2]+".wav"))
		if err != nil {
			return nil, err
		}
		out = append(out, Utterance{m[2], pcm, m[1]})
	}
	return out, nil
}

// GoForward: headerless 16 kHz PCM, "go forward ten meters".
func GoForward(data string) ([]Utterance, error) {
	raw, err := os.ReadFile(filepath.Join(data, "speech_en_pocketsphinx_cards", "goforward.raw"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMissing, err)
	}
	pcm, err := audio.DecodeRaw(raw, asr.SampleRate, audio.Limits{})
	if err != nil {
		return nil, err
	}
	return []Utterance{{"goforward", pcm, "go forward ten meters"}}, nil
}

// VoskTestWAV: three phrases of digits; the reference is what Vosk's small English model
// produced (see the set's SOURCE.md), so "oh" and "zero" both appear.
func VoskTestWAV(data string) ([]Utterance, error) {
	pcm, err := DecodeFile(filepath.Join(data, "speech_en_vosk_testwav", "test.wav"))
	if err != nil {
		return nil, err
	}
	return []Utterance{{"test", pcm, "one zero zero zero one nine oh two one oh zero one eight zero three"}}, nil
}

// FSDD: 300 spoken digits at 8 kHz (resampled); the digit is the file name's first
// character.
func FSDD(data string) ([]Utterance, error) {
	dir := filepath.Join(data, "fsdd_test", "recordings")
	if err := stat(dir); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("%w: no recordings in %s", ErrMissing, dir)
	}
	sort.Strings(files)
	out := make([]Utterance, 0, len(files))
	for _, f := range files {
		base := filepath.Base(f)
		if base[0] < '0' || base[0] > '9' {
			continue
		}
		pcm, err := DecodeFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, Utterance{base, pcm, DigitWords[base[0]-'0']})
	}
	return out, nil
}

// DigitWords are the digits as spoken.
var DigitWords = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// CustomerSentences are what espeak-ng says for the synthesized set; numbers are written
// as words so that the reference is what is spoken.
var CustomerSentences = []string{
	"i want a refund for my order",
	"my order number is one two three four five",
	"the package arrived damaged yesterday",
	"can i speak to a human agent please",
	"please cancel my subscription",
	"how do i reset my password",
	"where is my delivery",
	"i was charged twice this month",
}

// Espeak synthesizes CustomerSentences with espeak-ng (22050 Hz WAV, resampled); data is
// not used.
func Espeak(string) ([]Utterance, error) {
	out := make([]Utterance, 0, len(CustomerSentences))
	for i, s := range CustomerSentences {
		wav, err := Say(s)
		if err != nil {
			return nil, err
		}
		pcm, _, err := audio.Decode(wav, audio.Limits{})
		if err != nil {
			return nil, err
		}
		out = append(out, Utterance{string(rune('a' + i)), pcm, s})
	}
	return out, nil
}

// Say synthesizes text with espeak-ng's US-English voice as a WAV file's bytes.
func Say(text string) ([]byte, error) { return SayAt(text, 175) }

// SayAt is Say at wpm words per minute (espeak-ng's default is 175).
func SayAt(text string, wpm int) ([]byte, error) {
	speed := strconv.Itoa(wpm)
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		return nil, fmt.Errorf("%w: espeak-ng not installed (apt-get install espeak-ng)", ErrMissing)
	}
	out, err := exec.Command(bin, "-v", "en-us", "-s", speed, "--stdout", text).Output()
	if err != nil {
		return nil, fmt.Errorf("espeak-ng: %w", err)
	}
	return fixStreamedWAV(out), nil
}

// fixStreamedWAV sets the RIFF and data sizes of a WAV written to a pipe (espeak-ng
// leaves them at their maximum when it cannot seek back).
func fixStreamedWAV(b []byte) []byte {
	if len(b) < 44 || string(b[:4]) != "RIFF" {
		return b
	}
	put := func(off, v int) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	put(4, len(b)-8)
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(uint32(b[off+4])|uint32(b[off+5])<<8|uint32(b[off+6])<<16|uint32(b[off+7])<<24)
		if id == "data" {
			put(off+4, len(b)-off-8)
			break
		}
		off += 8 + size + size%2
	}
	return b
}

func lines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMissing, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}

// Score is a set's word error rate and decoding time.
type Score struct {
	Errors, Words int
	Decode        time.Duration // summed over utterances
	Audio         float64       // seconds
	Hyps          []string      // per utterance
}

// WER is errors over reference words.
func (s Score) WER() float64 { return float64(s.Errors) / float64(max(s.Words, 1)) }

// RTF is summed decoding time over audio time.
func (s Score) RTF() float64 {
	if s.Audio == 0 {
		return 0
	}
	return s.Decode.Seconds() / s.Audio
}

// Evaluate transcribes utts with up to workers recognizers of pool in parallel, in one
// pass or streamed in chunks of chunk samples (asr.Transcribe), and scores them. The
// recognizers are made before timing starts.
func Evaluate(ctx context.Context, pool *asr.Pool, utts []Utterance, workers, chunk int) (Score, error) {
	workers = max(workers, 1)
	var releases []func()
	for range workers {
		_, release, err := pool.Acquire(ctx)
		if err != nil {
			for _, r := range releases {
				r()
			}
			return Score{}, err
		}
		releases = append(releases, release)
	}
	for _, r := range releases {
		r()
	}
	hyps := make([]string, len(utts))
	took := make([]time.Duration, len(utts))
	errs := make([]error, len(utts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i, u := range utts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rec, release, err := pool.Acquire(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			defer release()
			start := time.Now()
			res, err := asr.Transcribe(ctx, pool.Engine(), rec, u.PCM, chunk)
			took[i] = time.Since(start)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", u.ID, err)
			}
			hyps[i] = res.Text
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Score{}, err
	}
	s := Score{Hyps: hyps}
	for i, u := range utts {
		_, e, w := asr.WER(u.Ref, hyps[i])
		s.Errors += e
		s.Words += w
		s.Decode += took[i]
		s.Audio += float64(len(u.PCM)) / asr.SampleRate
	}
	return s, nil
}

// OpusNote encodes a WAV file's bytes as an OGG/Opus voice note (the format Telegram and
// WhatsApp send) with opus-tools' opusenc.
func OpusNote(wav []byte) ([]byte, error) {
	bin, err := exec.LookPath("opusenc")
	if err != nil {
		return nil, fmt.Errorf("%w: opusenc not installed (apt-get install opus-tools)", ErrMissing)
	}
	cmd := exec.Command(bin, "--quiet", "--bitrate", "24", "-", "-")
	cmd.Stdin = bytes.NewReader(wav)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("opusenc: %w", err)
	}
	return out, nil
}
