package vosk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/asreval"
	"github.com/switchboard-cs/switchboard/asr/asrtest"
	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// library returns libvosk.so, skipping the test when it is absent (failing in CI).
// scripts/fetch-vosk.sh puts it in .deps/vosk.
func library(t *testing.T) string {
	t.Helper()
	lib, err := FindLibrary("")
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("libvosk.so missing in CI: %v", err)
		}
		t.Skipf("libvosk.so missing: %v", err)
	}
	return lib
}

// writeModel makes a fake model folder holding files (path → content).
func writeModel(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for f, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// layout is a model of the current Vosk layout with a static graph; every file holds
// content.
func layout(content string, without ...string) map[string]string {
	files := map[string]string{}
	for _, f := range []string{"am/final.mdl", "conf/mfcc.conf", "conf/model.conf", "graph/HCLG.fst", "graph/words.txt"} {
		files[f] = content
	}
	for _, f := range without {
		delete(files, f)
	}
	return files
}

func TestCheckModel(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dynamic := layout("x", "graph/HCLG.fst")
	dynamic["graph/HCLr.fst"], dynamic["graph/Gr.fst"], dynamic["graph/disambig_tid.int"] = "x", "x", "x"
	withIvector := layout("x")
	withIvector["ivector/final.ie"] = "x"
	emptyAM := layout("x")
	emptyAM["am/final.mdl"] = ""
	tests := []struct {
		name    string
		dir     string
		missing string // "" when the folder passes
	}{
		{"not configured", "", "no model folder configured"},
		{"no such folder", "/nonexistent/vosk-model", "missing"},
		{"a file", file, "missing"},
		{"empty folder", t.TempDir(), "no am/final.mdl"},
		{"static graph", writeModel(t, layout("x")), ""},
		{"dynamic graph", writeModel(t, dynamic), ""},
		{"old flat layout", writeModel(t, map[string]string{"final.mdl": "x", "mfcc.conf": "x", "HCLG.fst": "x"}), ""},
		{"no model.conf", writeModel(t, layout("x", "conf/model.conf")), "conf/model.conf"},
		{"no graph", writeModel(t, layout("x", "graph/HCLG.fst")), "graph/HCLr.fst, graph/Gr.fst, graph/disambig_tid.int"},
		{"empty acoustic model", writeModel(t, emptyAM), "no am/final.mdl"},
		{"partial ivector", writeModel(t, withIvector), "ivector/final.dubm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckModel(tt.dir)
			if tt.missing == "" {
				if err != nil {
					t.Fatalf("CheckModel: %v", err)
				}
				return
			}
			if !errors.Is(err, asr.ErrUnavailable) || !strings.Contains(err.Error(), tt.missing) {
				t.Fatalf("CheckModel: %v, want ErrUnavailable mentioning %q", err, tt.missing)
			}
		})
	}
}

func TestFindLibrary(t *testing.T) {
	if _, err := FindLibrary("/nonexistent/libvosk.so"); !errors.Is(err, asr.ErrUnavailable) {
		t.Errorf("explicit missing library: %v", err)
	}
	fake := filepath.Join(t.TempDir(), "libvosk.so")
	if err := os.WriteFile(fake, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvLibrary, fake)
	if got, err := FindLibrary(""); err != nil || got != fake {
		t.Errorf("FindLibrary with $%s: %q, %v", EnvLibrary, got, err)
	}
	if got, err := FindLibrary(fake); err != nil || got != fake {
		t.Errorf("FindLibrary(explicit): %q, %v", got, err)
	}
}

// TestLoad exercises the library: it loads, a missing, empty or bad model is
// ErrUnavailable (with Kaldi's reason), and nothing takes the process down.
func TestLoad(t *testing.T) {
	lib := library(t)
	ctx := context.Background()
	if err := Check(Config{Library: lib, ModelDir: t.TempDir()}); !errors.Is(err, asr.ErrUnavailable) {
		t.Errorf("Check with an empty model folder: %v", err)
	}
	if err := Check(Config{Library: "/nonexistent/libvosk.so", ModelDir: "x"}); !errors.Is(err, asr.ErrUnavailable) {
		t.Errorf("Check with a missing library: %v", err)
	}
	tests := []struct {
		name    string
		cfg     Config
		message string // part of the error
	}{
		{"no model configured", Config{}, "no model folder configured"},
		{"missing model", Config{ModelDir: "/nonexistent/vosk-model-small-en-us-0.15"}, "missing"},
		{"empty folder", Config{ModelDir: t.TempDir()}, "not a Vosk model"},
		{"bad configuration files", Config{ModelDir: writeModel(t, layout("hello world"))}, "model.conf"},
		{"bad option in configuration", Config{ModelDir: writeModel(t, layout("--beam=13"))}, "Invalid option"},
		{"garbage model", Config{ModelDir: writeModel(t, garbage())}, "expected <TransitionModel>"},
		// Without the probe, vosk_model_new itself returns NULL: checked, no crash.
		{"bad configuration without probe", Config{ModelDir: writeModel(t, layout("hello world")), NoProbe: true}, "NULL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Library = lib
			e, err := New(ctx, tt.cfg)
			if err == nil {
				e.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, asr.ErrUnavailable) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("New: %v, want ErrUnavailable mentioning %q", err, tt.message)
			}
			t.Log(err)
		})
	}
}

// TestProbeTimeout makes the probe process hang (the acoustic model is a FIFO nobody
// writes) and checks that it is killed and reported.
func TestProbeTimeout(t *testing.T) {
	if err := load(library(t), -1); err != nil {
		t.Fatal(err)
	}
	files := garbage()
	delete(files, "am/final.mdl")
	dir := writeModel(t, files)
	if err := os.MkdirAll(filepath.Join(dir, "am"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "am", "final.mdl"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	start := time.Now()
	err := probeModel(dir, -1, time.Second)
	if err == nil || !strings.Contains(err.Error(), "took over 1s") {
		t.Fatalf("probe of a hanging load: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("probe took %v", took)
	}
}

// garbage is a model whose configuration parses but whose acoustic model and graph are
// random bytes.
func garbage() map[string]string {
	files := layout(strings.Repeat("\x13\x37garbage\x00\xff", 4096))
	files["conf/model.conf"] = "--beam=10.0\n--max-active=7000\n"
	files["conf/mfcc.conf"] = "--sample-frequency=16000\n--use-energy=false\n"
	return files
}

func TestGrammarJSON(t *testing.T) {
	known := func(w string) bool { return w != "zzqqxx" }
	tests := []struct {
		name string
		opts asr.RecognizerOptions
		want string
		err  error
	}{
		{"free", asr.RecognizerOptions{}, "", nil},
		{"phrases", asr.RecognizerOptions{Phrases: []string{"Order 42", "refund", "zzqqxx"}}, `["order four two","refund","[unk]"]`, nil},
		{"json grammar", asr.RecognizerOptions{Grammar: `["yes", "no"]`}, `["yes","no","[unk]"]`, nil},
		{"grammar over phrases", asr.RecognizerOptions{Grammar: `["yes"]`, Phrases: []string{"no"}}, `["yes","[unk]"]`, nil},
		{"not json", asr.RecognizerOptions{Grammar: "#JSGF V1.0;"}, "", asr.ErrBadOptions},
		{"nothing known", asr.RecognizerOptions{Phrases: []string{"zzqqxx"}}, "", asr.ErrBadOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := grammarJSON(tt.opts, known)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("grammarJSON: %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseResult(t *testing.T) {
	r := &recognizer{e: &Engine{cfg: Config{Language: "en"}}, words: true}
	got, err := r.parse(`{"result": [{"conf": 1.0, "end": 1.02, "start": 0.84, "word": "one"},
		{"conf": 0.5, "end": 1.5, "start": 1.1, "word": "[unk]"},
		{"conf": 0.98, "end": 2.0, "start": 1.6, "word": "zero"}], "text": "one [unk] zero"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := asr.Result{Text: "one zero", Engine: Name, Language: "en", Words: []asr.Word{
		{Word: "one", Start: 0.84, End: 1.02, Conf: 1}, {Word: "zero", Start: 1.6, End: 2, Conf: 0.98}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parse (-want +got):\n%s", diff)
	}
	if _, err := r.parse(`{"text": `); err == nil {
		t.Error("truncated JSON parsed")
	}
}

var loaded struct {
	once sync.Once
	e    *Engine
	err  error
}

// engine loads $VOSK_MODEL once; without it the end-to-end tests skip (no Vosk model
// can be downloaded in every environment; CI sets it where one is provisioned).
func engine(t *testing.T) *Engine {
	t.Helper()
	dir := os.Getenv("VOSK_MODEL")
	if dir == "" {
		t.Skip("VOSK_MODEL not set: the end-to-end Vosk tests need a model folder (alphacephei.com/vosk/models)")
	}
	library(t)
	loaded.once.Do(func() { loaded.e, loaded.err = New(context.Background(), Config{ModelDir: dir}) })
	if loaded.err != nil {
		t.Fatalf("VOSK_MODEL=%s: %v", dir, loaded.err)
	}
	return loaded.e
}

func decodeFile(t *testing.T, rel string) []int16 {
	t.Helper()
	data, err := os.ReadFile(testenv.SharedData(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	pcm, _, err := audio.Decode(data, audio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

// voskDigits is the reference of the Vosk test recording (what vosk-model-small-en-us
// produced, see its SOURCE.md).
const voskDigits = "one zero zero zero one nine oh two one oh zero one eight zero three"

func TestContract(t *testing.T) {
	e := engine(t)
	asrtest.TestEngine(t, e, asrtest.ContractClip{PCM: decodeFile(t, "speech_en_vosk_testwav/test.wav"), Text: voskDigits, MaxWER: 0.3})
}

// TestWordErrorRate reports Vosk's word error rate on every speech set of the shared
// data (asreval, as `switchboard bench asr` does), one pass per recording (run with
// VOSK_MODEL set):
//
//	VOSK_MODEL=/path/to/vosk-model-small-en-us-0.15 go test ./asr/vosk -run WordErrorRate -v
func TestWordErrorRate(t *testing.T) {
	e := engine(t)
	root := filepath.Dir(testenv.SharedData(t, "speech_en_vosk_testwav"))
	pool := asr.NewPool(e, 2, 1<<20, 0, asr.RecognizerOptions{})
	defer pool.Close()
	for _, set := range asreval.Sets() {
		t.Run(set.Name, func(t *testing.T) {
			utts, err := set.Load(root)
			if errors.Is(err, asreval.ErrMissing) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := asreval.Evaluate(context.Background(), pool, utts, 2, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("WER %s: %.3f (%d errors / %d words, RTF %.3f)", set.Name, s.WER(), s.Errors, s.Words, s.RTF())
		})
	}
}
