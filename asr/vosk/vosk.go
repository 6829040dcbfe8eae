package vosk

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/asr"
)

// Name is the engine name in results and configuration.
const Name = "vosk"

// EnvLibrary names the environment variable that points at libvosk.so.
const EnvLibrary = "SWITCHBOARD_VOSK_LIB"

// Config locates the library and the model.
type Config struct {
	// Library is libvosk.so; when empty, FindLibrary looks for it.
	Library string
	// ModelDir is a Kaldi model folder as Vosk publishes them (am/final.mdl, conf/,
	// graph/, optionally ivector/ and rescore/). Required.
	ModelDir string
	// Language is the language tag reported in results, "en" by default.
	Language string
	// Verbose lets Kaldi log at INFO level; by default only warnings and errors.
	Verbose bool
	// NoProbe skips loading the model once in a child process first. The probe (as
	// long as one model load) keeps a bad model, on which Kaldi can abort (failed
	// assertions) or crash, from taking the service down.
	NoProbe bool
	// ProbeTimeout bounds the probe, 5 minutes by default.
	ProbeTimeout time.Duration
}

// Engine is one loaded Vosk model shared by its recognizers (libvosk's model is
// reference-counted and safe to share across threads).
type Engine struct {
	cfg Config

	mu     sync.RWMutex // held for reading while the model is used outside recognizers
	m      *model
	closed bool
}

func (c Config) logLevel() int {
	if c.Verbose {
		return 0
	}
	return -1
}

// Check reports whether the library loads and the model folder has the files Vosk
// needs, without loading the model: for doctor and readiness reports. Its error wraps
// asr.ErrUnavailable.
func Check(cfg Config) error {
	lib, err := FindLibrary(cfg.Library)
	if err != nil {
		return err
	}
	if err := load(lib, cfg.logLevel()); err != nil {
		return fmt.Errorf("%w: %s: cannot load %s: %v", asr.ErrUnavailable, Name, lib, err)
	}
	return CheckModel(cfg.ModelDir)
}

// LoadLibrary finds (FindLibrary) and loads libvosk.so without any model, for doctor
// and readiness reports; it returns the library's path. Its error wraps
// asr.ErrUnavailable.
func LoadLibrary(explicit string) (string, error) {
	lib, err := FindLibrary(explicit)
	if err != nil {
		return "", err
	}
	if err := load(lib, Config{}.logLevel()); err != nil {
		return lib, fmt.Errorf("%w: %s: cannot load %s: %v", asr.ErrUnavailable, Name, lib, err)
	}
	return lib, nil
}

// New loads the library and the model. A missing library, a missing or incomplete
// model folder, or a model Vosk cannot load is asr.ErrUnavailable; no model path reaches
// vosk_model_new before it passed CheckModel and (unless NoProbe) a load in a child
// process.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg.Language = cmp.Or(cfg.Language, "en")
	if err := Check(cfg); err != nil {
		return nil, err
	}
	if !cfg.NoProbe {
		if err := probeModel(cfg.ModelDir, cfg.logLevel(), cmp.Or(cfg.ProbeTimeout, 5*time.Minute)); err != nil {
			return nil, fmt.Errorf("%w: %s: model %s: %v", asr.ErrUnavailable, Name, cfg.ModelDir, err)
		}
	}
	m, err := newModel(cfg.ModelDir)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", asr.ErrUnavailable, Name, err)
	}
	return &Engine{cfg: cfg, m: m}, nil
}

// Name is "vosk".
func (e *Engine) Name() string { return Name }

// Language is the configured language tag.
func (e *Engine) Language() string { return e.cfg.Language }

// NewRecognizer makes a recognizer. Phrases (or Grammar, a JSON list of phrases) become
// a Vosk grammar, which models with a dynamic graph (graph/HCLr.fst + Gr.fst, the small
// models) honour and models with a static HCLG ignore.
func (e *Engine) NewRecognizer(ctx context.Context, opts asr.RecognizerOptions) (asr.Recognizer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Rate() != asr.SampleRate {
		return nil, fmt.Errorf("%w: %s takes %d Hz PCM, not %d Hz", asr.ErrBadAudio, Name, asr.SampleRate, opts.Rate())
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, asr.ErrClosed
	}
	grammar, err := grammarJSON(opts, e.m.known)
	if err != nil {
		return nil, err
	}
	r := &recognizer{e: e, grammar: grammar, words: opts.Words}
	if r.k, err = newKaldiRec(e.m, asr.SampleRate, grammar, opts.Words); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", asr.ErrBadOptions, Name, err)
	}
	return r, nil
}

// grammarJSON is the Vosk grammar (a JSON list of phrases) for opts, or "" for free
// recognition: the phrases normalized by asr.PhraseList, those with words the model
// lacks left out, and "[unk]" for anything else said.
func grammarJSON(opts asr.RecognizerOptions, known func(string) bool) (string, error) {
	var phrases []string
	switch {
	case opts.Grammar != "":
		if err := json.Unmarshal([]byte(opts.Grammar), &phrases); err != nil {
			return "", fmt.Errorf("%w: %s grammar must be a JSON list of phrases: %v", asr.ErrBadOptions, Name, err)
		}
	case len(opts.Phrases) > 0:
		phrases = opts.Phrases
	default:
		return "", nil
	}
	kept, dropped := asr.PhraseList(phrases, known)
	if len(kept) == 0 {
		return "", fmt.Errorf("%w: %s: no phrase has only words of the model: %q", asr.ErrBadOptions, Name, dropped)
	}
	b, err := json.Marshal(append(kept, unk))
	return string(b), err
}

// unk is the grammar entry Vosk maps out-of-grammar speech to; it is left out of results.
const unk = "[unk]"

// newKaldi makes the next stream's Kaldi recognizer.
func (e *Engine) newKaldi(grammar string, words bool) (*kaldiRec, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return nil, asr.ErrClosed
	}
	return newKaldiRec(e.m, asr.SampleRate, grammar, words)
}

// Close releases the engine's reference to the model and refuses new recognizers and
// new streams; a stream in progress finishes (its recognizer holds its own reference).
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		e.m.free()
	}
	return nil
}

// FindLibrary returns libvosk.so to load: explicit when set (it must exist), else
// $SWITCHBOARD_VOSK_LIB, else .deps/vosk/libvosk.so in the working directory or one of
// its parents or beside the executable's folder, else libvosk.so in the usual library
// folders. Its error wraps asr.ErrUnavailable.
func FindLibrary(explicit string) (string, error) {
	for _, p := range []string{explicit, os.Getenv(EnvLibrary)} {
		if p == "" {
			continue
		}
		if !regular(p) {
			return "", fmt.Errorf("%w: %s: library %s missing or empty", asr.ErrUnavailable, Name, p)
		}
		return p, nil
	}
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, ".deps", "vosk"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(exe)), ".deps", "vosk"))
	}
	dirs = append(dirs, "/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu")
	for _, d := range dirs {
		if p := filepath.Join(d, "libvosk.so"); regular(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s: no libvosk.so found (run scripts/fetch-vosk.sh or set %s)", asr.ErrUnavailable, Name, EnvLibrary)
}

// CheckModel verifies that dir holds a Vosk model's required files, in the current
// layout (am/final.mdl, conf/mfcc.conf, conf/model.conf, graph/…) or the old flat one
// (final.mdl, mfcc.conf, HCLG.fst …), so that libvosk is never asked to load a folder it
// would fail on. Its error wraps asr.ErrUnavailable.
func CheckModel(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: %s: no model folder configured", asr.ErrUnavailable, Name)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: %s: model folder %s missing (download one from alphacephei.com/vosk/models)", asr.ErrUnavailable, Name, dir)
	}
	var need []string
	graph := dir
	switch {
	case regular(filepath.Join(dir, "am", "final.mdl")):
		graph = filepath.Join(dir, "graph")
		need = append(need, "conf/mfcc.conf", "conf/model.conf")
	case regular(filepath.Join(dir, "final.mdl")):
		need = append(need, "mfcc.conf")
	default:
		return fmt.Errorf("%w: %s: model folder %s has no am/final.mdl (or final.mdl): not a Vosk model", asr.ErrUnavailable, Name, dir)
	}
	rel, _ := filepath.Rel(dir, graph)
	if !regular(filepath.Join(graph, "HCLG.fst")) {
		for _, f := range []string{"HCLr.fst", "Gr.fst", "disambig_tid.int"} {
			need = append(need, filepath.Join(rel, f))
		}
	}
	if regular(filepath.Join(dir, "ivector", "final.ie")) {
		for _, f := range []string{"final.dubm", "final.mat", "global_cmvn.stats", "online_cmvn.conf", "splice.conf"} {
			need = append(need, filepath.Join("ivector", f))
		}
	}
	var missing []string
	for _, f := range need {
		if !regular(filepath.Join(dir, f)) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s: model folder %s lacks %s (or they are empty)", asr.ErrUnavailable, Name, dir, strings.Join(missing, ", "))
	}
	return nil
}

func regular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}

var _ asr.Engine = (*Engine)(nil)
