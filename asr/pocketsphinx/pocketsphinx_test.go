package pocketsphinx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/asreval"
	"github.com/switchboard-cs/switchboard/asr/asrtest"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// unavailable skips the test when PocketSphinx is not installed, or fails it in CI.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, asr.ErrUnavailable) {
		t.Fatalf("unexpected error: %v", err)
	}
	if testenv.InCI() {
		t.Fatalf("PocketSphinx unavailable in CI: %v", err)
	}
	t.Skipf("PocketSphinx unavailable: %v", err)
}

var engines struct {
	sync.Mutex
	byDir map[string]*Engine
}

// engine returns the process's engine for cfg's model dir ("" is the Debian model with
// its language model), loading it once.
func engine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	engines.Lock()
	defer engines.Unlock()
	if e := engines.byDir[cfg.ModelDir]; e != nil {
		return e
	}
	e, err := New(context.Background(), cfg)
	if err != nil {
		unavailable(t, err)
	}
	if engines.byDir == nil {
		engines.byDir = map[string]*Engine{}
	}
	engines.byDir[cfg.ModelDir] = e
	return e
}

// sharedModel is the PocketSphinx model of the shared data set: the same acoustic model
// in a flat folder, with a dictionary but no word language model.
func sharedModel(t testing.TB) *Engine {
	return engine(t, Config{ModelDir: testenv.SharedData(t, "pocketsphinx_en_us_model")})
}

func TestContract(t *testing.T) {
	e := engine(t, Config{})
	u := goforward(t)[0]
	asrtest.TestEngine(t, e, asrtest.ContractClip{PCM: u.PCM, Text: u.Ref, MaxWER: 0.25})
}

func TestContractGrammar(t *testing.T) {
	e := sharedModel(t)
	u := goforward(t)[0]
	gram := readFile(t, testenv.SharedData(t, "speech_en_pocketsphinx_cards/goforward.gram"))
	rec, err := e.NewRecognizer(context.Background(), asr.RecognizerOptions{Grammar: gram, Words: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	res, err := asr.Transcribe(context.Background(), e, rec, u.PCM, asr.SampleRate/4)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"go", "forward", "ten", "meters"}
	var got []string
	for _, w := range res.Words {
		got = append(got, w.Word)
	}
	if res.Text != u.Ref || !cmp.Equal(want, got) {
		t.Errorf("shared model + goforward.gram: %q, words %q; want %q", res.Text, got, u.Ref)
	}
	if _, err := e.NewRecognizer(context.Background(), asr.RecognizerOptions{}); !errors.Is(err, asr.ErrUnavailable) {
		t.Errorf("free recognition without a language model: %v, want ErrUnavailable", err)
	}
}

// digitPhrases constrain recognition to spoken digits.
var digitPhrases = []string{"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// TestWordErrorRate transcribes every speech set of the shared data (and espeak-ng
// sentences) and reports the word error rate against the reference transcripts. The
// bounds are what this engine (Debian's 0.8+5prealpha, en-us model) measured plus a
// margin: a regression fails. FSDD is 8 kHz telephone-band speech against a 16 kHz
// model, hence its rates; espeak-ng's synthetic voice is far from the training speech.
// With -short, the slowest set (FSDD with the language model, 300 decodes) is left out.
//
//	go test ./asr/pocketsphinx -run WordErrorRate -v
func TestWordErrorRate(t *testing.T) {
	gram := func(name string) func(testing.TB) asr.RecognizerOptions {
		return func(t testing.TB) asr.RecognizerOptions {
			return asr.RecognizerOptions{Grammar: readFile(t, testenv.SharedData(t, "speech_en_pocketsphinx_cards/"+name))}
		}
	}
	phrases := func(p []string) func(testing.TB) asr.RecognizerOptions {
		return func(testing.TB) asr.RecognizerOptions { return asr.RecognizerOptions{Phrases: p} }
	}
	lm := func(testing.TB) asr.RecognizerOptions { return asr.RecognizerOptions{} }
	const stream = true                               // decode in chunks of 0.25 s as a live stream, not in one pass
	digit := func(testing.TB) asr.RecognizerOptions { // exactly one digit per recording
		return asr.RecognizerOptions{Grammar: "#JSGF V1.0;\ngrammar digit;\npublic <digit> = zero | oh | one | two | three | four | five | six | seven | eight | nine;\n"}
	}
	tests := []struct {
		set    string
		mode   string
		load   func(testing.TB) []utterance
		opts   func(testing.TB) asr.RecognizerOptions
		shared bool // the shared data's model folder instead of the Debian one
		stream bool
		maxWER float64 // measured + margin
	}{
		{"librivox", "lm", librivox, lm, false, false, 0.33},
		{"librivox", "lm, streamed", librivox, lm, false, stream, 0.33},
		{"cards", "lm", cards, lm, false, false, 0.10},
		{"cards", "lm, streamed", cards, lm, false, stream, 0.10},
		{"cards", "cards.gram", cards, gram("cards.gram"), false, false, 0.05},
		{"cards", "cards.gram, shared model", cards, gram("cards.gram"), true, false, 0.05},
		{"goforward", "lm", goforward, lm, false, false, 0},
		{"goforward", "goforward.gram", goforward, gram("goforward.gram"), false, false, 0},
		{"goforward", "goforward.gram, shared model", goforward, gram("goforward.gram"), true, false, 0},
		{"vosk test.wav", "lm", voskTestWAV, lm, false, false, 0.34},
		{"vosk test.wav", "digit phrases", voskTestWAV, phrases(digitPhrases), false, false, 0.14},
		{"fsdd", "lm", fsdd, lm, false, false, 0.90},
		{"fsdd", "digit phrases", fsdd, phrases(digitPhrases), false, false, 0.76},
		{"fsdd", "digit phrases, streamed", fsdd, phrases(digitPhrases), false, stream, 0.76},
		{"fsdd", "one-digit grammar", fsdd, digit, false, false, 0.32},
		{"espeak", "lm", espeak, lm, false, false, 0.70},
		// streamed, the two workers' decoders carry live cepstral-mean state from one
		// utterance to the next and which decoder takes which utterance varies: measured
		// 0.49, 0.51 and 0.57 on three runs of the same audio (2026-12-07)
		{"espeak", "lm, streamed", espeak, lm, false, stream, 0.62},
	}
	for _, tt := range tests {
		t.Run(tt.set+"/"+tt.mode, func(t *testing.T) {
			if testing.Short() && tt.set == "fsdd" && tt.mode == "lm" {
				t.Skip("-short: 300 decodes with the language model")
			}
			e := engine(t, Config{})
			if tt.shared {
				e = sharedModel(t)
			}
			utts := tt.load(t)
			chunk := 0
			if tt.stream {
				chunk = asr.SampleRate / 4
			}
			s := evaluate(t, e, tt.opts(t), utts, chunk)
			t.Logf("WER %s [%s]: %.3f (%d errors / %d words, %d utterances, %.1f s of audio, RTF %.3f)",
				tt.set, tt.mode, s.WER(), s.Errors, s.Words, len(utts), seconds(utts), s.RTF())
			if s.WER() > tt.maxWER {
				t.Errorf("WER %.3f over the bound %.3f", s.WER(), tt.maxWER)
			}
		})
	}
}

// evaluate transcribes utts with two recognizers in parallel (the test machine's cores),
// in one pass or streamed in chunks of chunk samples, and scores them; it logs the first
// mismatches. Decoding time excludes making the recognizers.
func evaluate(t *testing.T, e *Engine, opts asr.RecognizerOptions, utts []utterance, chunk int) asreval.Score {
	t.Helper()
	const workers = 2
	pool := asr.NewPool(e, workers, len(utts), 0, opts)
	defer pool.Close()
	s, err := asreval.Evaluate(context.Background(), pool, utts, workers, chunk)
	if err != nil {
		t.Fatal(err)
	}
	shown := 0
	for i, u := range utts {
		if _, errs, _ := asr.WER(u.Ref, s.Hyps[i]); errs > 0 && shown < 5 {
			shown++
			t.Logf("  %s: %q, reference %q", u.ID, s.Hyps[i], u.Ref)
		}
	}
	return s
}

func TestMissingModel(t *testing.T) {
	engine(t, Config{}) // skips when PocketSphinx is not installed at all
	empty := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no such model dir", Config{ModelDir: "/nonexistent/en-us"}},
		{"empty model dir", Config{ModelDir: empty}},
		{"no dictionary", Config{Dict: filepath.Join(empty, "none.dict")}},
		{"no language model", Config{LM: filepath.Join(empty, "none.lm.bin")}},
		{"no library", Config{Library: "/nonexistent/libpocketsphinx.so.3"}},
		{"odd args", Config{Args: []string{"-beam"}}},
		{"unknown flag", Config{Args: []string{"-no-such-flag", "1"}, NoProbe: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg)
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, asr.ErrUnavailable) && !errors.Is(err, asr.ErrBadOptions) {
				t.Errorf("New: %v, want ErrUnavailable or ErrBadOptions", err)
			}
			t.Log(err)
		})
	}
}

// TestCorruptModel damages a copy of the model in ways that make PocketSphinx crash
// (SIGSEGV, caught by the probe process) or call exit (caught by the jump out of its
// fatal-error log): New must fail with ErrUnavailable and this process survive.
func TestCorruptModel(t *testing.T) {
	src := engine(t, Config{}).Config()
	tests := []struct {
		name    string
		file    string
		damage  func([]byte) []byte
		noProbe bool
	}{
		{"mdef truncated", "mdef", func(b []byte) []byte { return b[:len(b)/2] }, false},
		{"means bit-flipped", "means", flip, false},
		{"means bit-flipped without probe", "means", flip, true},
		{"transition matrices truncated without probe", "transition_matrices", func(b []byte) []byte { return b[:len(b)/2] }, true},
		{"feat.params garbage without probe", "feat.params", flip, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"mdef", "means", "variances", "sendump", "transition_matrices", "feat.params", "noisedict"} {
				b, err := os.ReadFile(filepath.Join(src.ModelDir, f))
				if err != nil {
					t.Fatal(err)
				}
				if f == tt.file {
					b = tt.damage(b)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := New(context.Background(), Config{ModelDir: dir, Dict: src.Dict, NoLM: true, NoProbe: tt.noProbe})
			if !errors.Is(err, asr.ErrUnavailable) {
				t.Fatalf("New on a damaged model: %v, want ErrUnavailable", err)
			}
			t.Log(err)
		})
	}
	// The library still works after the fatal errors it was jumped out of.
	u := goforward(t)[0]
	rec, err := engine(t, Config{}).NewRecognizer(context.Background(), asr.RecognizerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	if res, err := asr.Transcribe(context.Background(), engine(t, Config{}), rec, u.PCM, 0); err != nil || res.Text != u.Ref {
		t.Errorf("after the damaged models: %q, %v", res.Text, err)
	}
}

// flip changes every 7th byte after the first 100 (headers stay readable).
func flip(b []byte) []byte {
	for i := 100; i < len(b); i += 7 {
		b[i] ^= 0x5a
	}
	return b
}

func TestGrammarErrors(t *testing.T) {
	e := engine(t, Config{})
	tests := []struct {
		name string
		opts asr.RecognizerOptions
	}{
		{"syntax error", asr.RecognizerOptions{Grammar: "#JSGF V1.0; grammar x; public <a> = go forward"}},
		{"word not in the dictionary", asr.RecognizerOptions{Grammar: "#JSGF V1.0; grammar x; public <a> = go zzqqxx;"}},
		{"no phrase known", asr.RecognizerOptions{Phrases: []string{"zzqqxx", "qqzzyy refund"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.NewRecognizer(context.Background(), tt.opts)
			if !errors.Is(err, asr.ErrBadOptions) {
				t.Fatalf("NewRecognizer: %v, want ErrBadOptions", err)
			}
			t.Log(err)
		})
	}
}

func TestPhraseGrammar(t *testing.T) {
	known := func(w string) bool { return w != "zzqqxx" }
	jsgf, dropped, err := phraseGrammar([]string{"Order 42", "refund", "zzqqxx please", "refund"}, known)
	if err != nil {
		t.Fatal(err)
	}
	want := "#JSGF V1.0;\ngrammar hints;\npublic <hints> = ( order four two | refund )+ ;\n"
	if diff := cmp.Diff(want, jsgf); diff != "" {
		t.Errorf("grammar (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"zzqqxx please"}, dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if _, _, err := phraseGrammar([]string{"zzqqxx"}, known); !errors.Is(err, asr.ErrBadOptions) {
		t.Errorf("no usable phrase: %v", err)
	}
}

// TestPhraseHints decodes an order number said by espeak-ng with and without digit
// phrase hints.
func TestPhraseHints(t *testing.T) {
	e := engine(t, Config{})
	utts := espeak(t)
	u := utts[1] // "my order number is one two three four five"
	for _, opts := range []asr.RecognizerOptions{{}, {Phrases: append([]string{"my order number is"}, "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")}} {
		rec, err := e.NewRecognizer(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		res, err := asr.Transcribe(context.Background(), e, rec, u.PCM, 0)
		rec.Close()
		if err != nil {
			t.Fatal(err)
		}
		rate, _, _ := asr.WER(u.Ref, res.Text)
		t.Logf("phrases %d: %q WER %.3f", len(opts.Phrases), res.Text, rate)
		if len(opts.Phrases) > 0 && rate != 0 {
			t.Errorf("with phrase hints: %q, want %q", res.Text, u.Ref)
		}
	}
}

// BenchmarkPocketSphinxRTF decodes the librivox utterances (24.7 s of read speech) with
// the default engine (language model, word times) and reports the real-time factor
// (decoding time / audio time) of one stream decoded in one pass per utterance, of one
// stream fed in 0.25 s chunks, and per stream with as many concurrent streams as
// GOMAXPROCS. cpu_rtf is the process's CPU time over the audio time, which other load on
// the machine does not inflate.
//
//	go test ./asr/pocketsphinx -run '^$' -bench RTF -benchtime 4x
func BenchmarkPocketSphinxRTF(b *testing.B) {
	e := engine(b, Config{})
	utts := librivox(b)
	audio := seconds(utts)
	decodeAll := func(rec asr.Recognizer, chunk int) {
		for _, u := range utts {
			if _, err := asr.Transcribe(context.Background(), e, rec, u.PCM, chunk); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, mode := range []struct {
		name  string
		chunk int
	}{{"whole", 0}, {"streamed", asr.SampleRate / 4}} {
		b.Run(mode.name, func(b *testing.B) {
			rec, err := e.NewRecognizer(context.Background(), asr.RecognizerOptions{Words: true})
			if err != nil {
				b.Fatal(err)
			}
			defer rec.Close()
			start, cpu := time.Now(), cpuTime()
			for b.Loop() {
				decodeAll(rec, mode.chunk)
			}
			b.ReportMetric(time.Since(start).Seconds()/(audio*float64(b.N)), "rtf")
			b.ReportMetric((cpuTime()-cpu).Seconds()/(audio*float64(b.N)), "cpu_rtf")
		})
	}
	b.Run("parallel", func(b *testing.B) {
		n := runtime.GOMAXPROCS(0)
		pool := asr.NewPool(e, n, n, 0, asr.RecognizerOptions{Words: true})
		defer pool.Close()
		var releases []func()
		for range n { // make the decoders before timing
			_, release, err := pool.Acquire(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			releases = append(releases, release)
		}
		for _, release := range releases {
			release()
		}
		start, cpu := time.Now(), cpuTime()
		b.RunParallel(func(pb *testing.PB) {
			rec, release, err := pool.Acquire(context.Background())
			if err != nil {
				b.Error(err)
				return
			}
			defer release()
			for pb.Next() {
				decodeAll(rec, 0)
			}
		})
		// Each of the n streams decoded b.N/n times the audio in the wall time.
		b.ReportMetric(time.Since(start).Seconds()*float64(n)/(audio*float64(b.N)), "rtf")
		b.ReportMetric((cpuTime()-cpu).Seconds()/(audio*float64(b.N)), "cpu_rtf")
		b.ReportMetric(float64(n), "streams")
	})
}

// cpuTime is the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
