// Package asrtest is the contract suite every speech engine of asr/ passes.
package asrtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/asreval"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// ContractClip is a recording an engine under the contract suite must transcribe.
type ContractClip struct {
	PCM    []int16 // 16 kHz mono
	Text   string  // reference transcript
	MaxWER float64 // the engine's word error rate on it must not exceed this
}

// TestEngine is the contract suite every asr.Engine implementation runs from its tests: the
// streaming semantics of asr.Recognizer (partials, finals, Final, Reset, reuse across
// streams, word times from the start of the stream), robustness to degenerate input,
// closed-state errors and concurrent recognizers.
func TestEngine(t *testing.T, e asr.Engine, clip ContractClip) {
	ctx := context.Background()
	dur := float64(len(clip.PCM)) / asr.SampleRate
	newRec := func(t *testing.T) asr.Recognizer {
		t.Helper()
		rec, err := e.NewRecognizer(ctx, asr.RecognizerOptions{Words: true})
		if err != nil {
			t.Fatalf("NewRecognizer: %v", err)
		}
		t.Cleanup(func() { _ = rec.Close() })
		return rec
	}
	stream := func(t *testing.T, rec asr.Recognizer, chunk int) (asr.Result, int) {
		t.Helper()
		out := asr.Result{}
		partials := 0
		for off := 0; off < len(clip.PCM); off += chunk {
			p, fin, err := rec.Accept(clip.PCM[off:min(off+chunk, len(clip.PCM))])
			if err != nil {
				t.Fatalf("Accept at sample %d: %v", off, err)
			}
			if p != "" || fin != nil {
				partials++
			}
			if fin != nil {
				out.Append(*fin)
			}
		}
		fin, err := rec.Final()
		if err != nil {
			t.Fatalf("Final: %v", err)
		}
		out.Append(fin)
		return out, partials
	}
	checkWords := func(t *testing.T, res asr.Result) {
		t.Helper()
		if len(res.Words) == 0 {
			t.Fatalf("no word timings in %+v", res)
		}
		prev := 0.0
		for _, w := range res.Words {
			if w.Word == "" || w.Start < prev-0.05 || w.End < w.Start || w.End > dur+0.2 || w.Conf < 0 || w.Conf > 1 {
				t.Errorf("implausible word %+v (previous start %.2f, clip %.2f s)", w, prev, dur)
			}
			prev = w.Start
		}
	}

	t.Run("identity", func(t *testing.T) {
		if e.Name() == "" || e.Language() == "" {
			t.Errorf("Name %q, Language %q: both must be set", e.Name(), e.Language())
		}
	})
	var reference string
	t.Run("stream", func(t *testing.T) {
		rec := newRec(t)
		res, partials := stream(t, rec, asr.SampleRate/4)
		rate, _, _ := asr.WER(clip.Text, res.Text)
		t.Logf("%s: %q (reference %q): asr.WER %.3f", e.Name(), res.Text, clip.Text, rate)
		if rate > clip.MaxWER {
			t.Errorf("asr.WER %.3f over %.3f", rate, clip.MaxWER)
		}
		if partials == 0 {
			t.Errorf("no partial text nor final result while streaming %.1f s of speech", dur)
		}
		checkWords(t, res)
		reference = res.Text

		whole, err := asr.Transcribe(ctx, e, rec, clip.PCM, 0) // in one pass when the engine can
		if err != nil {
			t.Fatalf("asr.Transcribe: %v", err)
		}
		if rate, _, _ := asr.WER(clip.Text, whole.Text); rate > clip.MaxWER {
			t.Errorf("whole recording: %q: asr.WER %.3f over %.3f", whole.Text, rate, clip.MaxWER)
		}
		if whole.Engine != e.Name() || whole.Language != e.Language() {
			t.Errorf("result labelled %q/%q, engine is %q/%q", whole.Engine, whole.Language, e.Name(), e.Language())
		}

		again, _ := stream(t, rec, asr.SampleRate/4) // the same recognizer, a later stream
		if again.Text != res.Text {
			t.Errorf("second stream on the same recognizer: %q, first %q", again.Text, res.Text)
		}
		checkWords(t, again)
		if again.Words[0].Start > res.Words[0].Start+0.5 {
			t.Errorf("second stream's times do not restart: first word at %.2f s, was %.2f s", again.Words[0].Start, res.Words[0].Start)
		}
	})
	t.Run("reset", func(t *testing.T) {
		rec := newRec(t)
		if _, _, err := rec.Accept(clip.PCM[:len(clip.PCM)/2]); err != nil {
			t.Fatal(err)
		}
		if err := rec.Reset(); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		res, _ := stream(t, rec, asr.SampleRate/4)
		if reference != "" && res.Text != reference {
			t.Errorf("after Reset: %q, want %q", res.Text, reference)
		}
		if err := rec.Reset(); err != nil { // between streams
			t.Fatalf("Reset twice: %v", err)
		}
	})
	t.Run("degenerate input", func(t *testing.T) {
		rec := newRec(t)
		rng := rand.New(rand.NewPCG(7, 11))
		noise := make([]int16, 20*asr.SampleRate)
		for i := range noise {
			noise[i] = int16(rng.IntN(65536) - 32768)
		}
		square := make([]int16, asr.SampleRate)
		for i := range square {
			square[i] = 32767
			if i/40%2 == 0 {
				square[i] = -32768
			}
		}
		for _, in := range [][]int16{nil, {}, {1}, {-32768, 32767, 0}, make([]int16, 7), square, noise, make([]int16, 2*asr.SampleRate)} {
			if _, _, err := rec.Accept(in); err != nil {
				t.Errorf("Accept(%d samples): %v", len(in), err)
			}
		}
		if _, err := rec.Final(); err != nil {
			t.Errorf("Final after degenerate input: %v", err)
		}
		if _, err := rec.Final(); err != nil {
			t.Errorf("Final with nothing streamed: %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		rec := newRec(t)
		if err := rec.Close(); err != nil {
			t.Fatal(err)
		}
		if err := rec.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, _, err := rec.Accept(clip.PCM[:100]); !errors.Is(err, asr.ErrClosed) {
			t.Errorf("Accept after Close: %v, want asr.ErrClosed", err)
		}
		if _, err := rec.Final(); !errors.Is(err, asr.ErrClosed) {
			t.Errorf("Final after Close: %v, want asr.ErrClosed", err)
		}
	})
	t.Run("sample rate", func(t *testing.T) {
		if _, err := e.NewRecognizer(ctx, asr.RecognizerOptions{SampleRate: 8000}); !errors.Is(err, asr.ErrBadAudio) {
			t.Errorf("NewRecognizer at 8 kHz: %v, want asr.ErrBadAudio", err)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		recs := []asr.Recognizer{newRec(t), newRec(t)}
		texts := make([]string, len(recs))
		var wg sync.WaitGroup
		for i, rec := range recs {
			wg.Go(func() {
				res, err := asr.Transcribe(ctx, e, rec, clip.PCM, asr.SampleRate/2)
				if err != nil {
					t.Errorf("recognizer %d: %v", i, err)
				}
				texts[i] = res.Text
			})
		}
		wg.Wait()
		if texts[0] != texts[1] {
			t.Errorf("concurrent recognizers disagree: %q", texts)
		}
		if rate, _, _ := asr.WER(clip.Text, texts[0]); rate > clip.MaxWER {
			t.Errorf("concurrent: %q: asr.WER %.3f over %.3f", texts[0], rate, clip.MaxWER)
		}
	})
}

// VoiceNote is text said by espeak-ng at 140 words a minute and encoded by opusenc as an
// OGG/Opus voice note, as Telegram and WhatsApp send them. Without the tools the test
// skips, or fails in CI.
func VoiceNote(t testing.TB, text string) []byte {
	t.Helper()
	wav, err := asreval.SayAt(text, 140)
	if err == nil {
		var ogg []byte
		if ogg, err = asreval.OpusNote(wav); err == nil {
			return ogg
		}
	}
	if testenv.InCI() || !errors.Is(err, asreval.ErrMissing) {
		t.Fatal(err)
	}
	t.Skip(err)
	return nil
}
