package pocketsphinx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/asr"
)

// Name is the engine name in results and configuration.
const Name = "pocketsphinx"

// Environment variables that point at the libraries when they are not in the loader's
// search path.
const (
	EnvLibrary     = "SWITCHBOARD_POCKETSPHINX_LIB"
	EnvBaseLibrary = "SWITCHBOARD_SPHINXBASE_LIB"
)

// Defaults of Debian/Ubuntu's packages (libpocketsphinx3, libsphinxbase3,
// pocketsphinx-en-us, version 0.8+5prealpha).
const (
	DefaultLibrary     = "libpocketsphinx.so.3"
	DefaultBaseLibrary = "libsphinxbase.so.3"
	DefaultModelDir    = "/usr/share/pocketsphinx/model/en-us/en-us"
	packages           = "apt-get install libpocketsphinx3 libsphinxbase3 pocketsphinx-en-us"
)

// Config locates the libraries and the model. Zero values take the defaults.
type Config struct {
	// Library and BaseLibrary are the shared objects to dlopen: $SWITCHBOARD_POCKETSPHINX_LIB
	// and $SWITCHBOARD_SPHINXBASE_LIB, else libpocketsphinx.so.3 / libsphinxbase.so.3
	// from the loader's path.
	Library, BaseLibrary string
	// ModelDir is the acoustic model folder (-hmm: mdef, means, variances, …), by
	// default DefaultModelDir.
	ModelDir string
	// Dict is the pronunciation dictionary; by default cmudict-en-us.dict (or the only
	// *.dict) in ModelDir or its parent.
	Dict string
	// LM is the n-gram language model; by default en-us.lm.bin in ModelDir or its parent.
	// Without one (NoLM, or none found) recognizers need Phrases or a Grammar.
	LM   string
	NoLM bool
	// Language is the language tag reported in results, "en" by default.
	Language string
	// Args are extra decoder flags as "-name", "value" pairs (e.g. "-beam", "1e-60").
	Args []string
	// NoProbe skips loading the model once in a child process before loading it in
	// this one. The probe (about as long as one decoder load) keeps a corrupt model file,
	// on which PocketSphinx can crash, from taking the service down.
	NoProbe bool
	// ProbeTimeout bounds the probe, 2 minutes by default.
	ProbeTimeout time.Duration
	// NoRescore skips decoding each streamed utterance a second time, in one pass, when
	// its end is detected. The live pass gives the partials; the second one (batch
	// cepstral normalization over the whole utterance) gives a final result as good as
	// DecodeAll's, at about twice the CPU per stream.
	NoRescore bool
}

// Engine is PocketSphinx with one model: each recognizer owns a decoder (PocketSphinx
// decoders share nothing), made from the same arguments.
type Engine struct {
	cfg   Config
	args  []string
	frate int

	mu     sync.Mutex
	spare  *decoder // the decoder New made to check the configuration, lent to the first recognizer
	closed bool
}

// Check reports whether the libraries load and the model files are present, without
// loading the model: for doctor and readiness reports. Its error wraps asr.ErrUnavailable.
func Check(cfg Config) error {
	cfg, err := resolve(cfg)
	if err != nil {
		return err
	}
	return loadLibraries(cfg)
}

// New loads the libraries, checks the model files and makes a first decoder to prove the
// configuration. A missing library or model file is asr.ErrUnavailable.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	if err := loadLibraries(cfg); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, frate: 100}
	e.args = []string{"-hmm", cfg.ModelDir, "-dict", cfg.Dict, "-samprate", strconv.Itoa(asr.SampleRate)}
	if cfg.LM != "" {
		e.args = append(e.args, "-lm", cfg.LM)
	}
	if !slices.Contains(cfg.Args, "-remove_silence") {
		// Decode every frame: when PocketSphinx 5prealpha removes silence its word times
		// drift by the silence it dropped. Utterance ends in a stream come from the
		// endpointer (endpoint.go) instead of its voice activity detector.
		e.args = append(e.args, "-remove_silence", "no")
	}
	e.args = append(e.args, cfg.Args...)
	for i := 0; i+1 < len(cfg.Args); i++ {
		if cfg.Args[i] == "-frate" {
			if f, err := strconv.Atoi(cfg.Args[i+1]); err == nil && f > 0 {
				e.frate = f
			}
		}
	}
	if !cfg.NoProbe {
		if err := probeDecoder(e.args, cmp.Or(cfg.ProbeTimeout, 2*time.Minute)); err != nil {
			return nil, fmt.Errorf("%w: %v", asr.ErrUnavailable, err)
		}
	}
	d, err := newDecoder(e.args)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", asr.ErrUnavailable, err)
	}
	e.spare = d
	return e, nil
}

// Name is "pocketsphinx".
func (e *Engine) Name() string { return Name }

// Language is the configured language tag.
func (e *Engine) Language() string { return e.cfg.Language }

// Config is the resolved configuration (defaults filled in).
func (e *Engine) Config() Config { return e.cfg }

// NewRecognizer makes a recognizer with its own decoder, which loads the dictionary and
// language model (about 0.6 s and 93 MB with the Debian model: pool recognizers).
// Phrases or Grammar switch the decoder to a JSGF grammar.
func (e *Engine) NewRecognizer(ctx context.Context, opts asr.RecognizerOptions) (asr.Recognizer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Rate() != asr.SampleRate {
		return nil, fmt.Errorf("%w: %s takes %d Hz PCM, not %d Hz", asr.ErrBadAudio, Name, asr.SampleRate, opts.Rate())
	}
	if opts.Grammar == "" && len(opts.Phrases) == 0 && e.cfg.LM == "" {
		return nil, fmt.Errorf("%w: %s has no language model: configure one or give phrases", asr.ErrUnavailable, Name)
	}
	d, err := e.decoder()
	if err != nil {
		return nil, err
	}
	if err := e.applyGrammar(d, opts); err != nil {
		d.free()
		return nil, err
	}
	return &recognizer{e: e, d: d, words: opts.Words, rescore: !e.cfg.NoRescore}, nil
}

func (e *Engine) decoder() (*decoder, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, asr.ErrClosed
	}
	d := e.spare
	e.spare = nil
	e.mu.Unlock()
	if d != nil {
		return d, nil
	}
	d, err := newDecoder(e.args)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", asr.ErrUnavailable, err)
	}
	return d, nil
}

func (e *Engine) applyGrammar(d *decoder, opts asr.RecognizerOptions) error {
	jsgf := opts.Grammar
	if jsgf == "" && len(opts.Phrases) > 0 {
		var err error
		if jsgf, _, err = phraseGrammar(opts.Phrases, d.known); err != nil {
			return err
		}
	}
	if jsgf == "" {
		return nil
	}
	if err := d.setGrammar(jsgf); err != nil {
		return fmt.Errorf("%w: %v", asr.ErrBadOptions, err)
	}
	return nil
}

// Close frees the spare decoder and refuses new recognizers; open recognizers keep
// working until closed (the libraries stay loaded for the life of the process).
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.spare != nil {
		e.spare.free()
		e.spare = nil
	}
	e.closed = true
	return nil
}

// resolve fills the defaults and checks that the model files exist, so that PocketSphinx
// never reaches one of its fatal (process-exiting) paths over a missing file.
func resolve(cfg Config) (Config, error) {
	if cfg.Library == "" {
		cfg.Library = cmp.Or(os.Getenv(EnvLibrary), DefaultLibrary)
	}
	if cfg.BaseLibrary == "" {
		cfg.BaseLibrary = os.Getenv(EnvBaseLibrary)
	}
	if cfg.BaseLibrary == "" {
		cfg.BaseLibrary = DefaultBaseLibrary
		if dir := filepath.Dir(cfg.Library); dir != "." {
			if p := filepath.Join(dir, DefaultBaseLibrary); regular(p) {
				cfg.BaseLibrary = p
			}
		}
	}
	cfg.ModelDir = cmp.Or(cfg.ModelDir, DefaultModelDir)
	cfg.Language = cmp.Or(cfg.Language, "en")
	if len(cfg.Args)%2 != 0 {
		return cfg, fmt.Errorf("%w: %s: Args must be flag/value pairs", asr.ErrBadOptions, Name)
	}
	for _, f := range []string{"mdef", "means", "variances", "transition_matrices", "feat.params", "noisedict"} {
		if p := filepath.Join(cfg.ModelDir, f); !regular(p) {
			return cfg, fmt.Errorf("%w: %s: model file %s missing or empty (%s, or set the model dir)",
				asr.ErrUnavailable, Name, p, packages)
		}
	}
	if !regular(filepath.Join(cfg.ModelDir, "sendump")) && !regular(filepath.Join(cfg.ModelDir, "mixture_weights")) {
		return cfg, fmt.Errorf("%w: %s: model %s has neither sendump nor mixture_weights", asr.ErrUnavailable, Name, cfg.ModelDir)
	}
	if cfg.Dict == "" {
		cfg.Dict = besideModel(cfg.ModelDir, "cmudict-en-us.dict", "*.dict")
	}
	if !regular(cfg.Dict) {
		return cfg, fmt.Errorf("%w: %s: dictionary %q missing or empty", asr.ErrUnavailable, Name, cfg.Dict)
	}
	switch {
	case cfg.NoLM:
		cfg.LM = ""
	case cfg.LM == "":
		cfg.LM = besideModel(cfg.ModelDir, "en-us.lm.bin", "")
	case !regular(cfg.LM):
		return cfg, fmt.Errorf("%w: %s: language model %q missing or empty", asr.ErrUnavailable, Name, cfg.LM)
	}
	return cfg, nil
}

// besideModel finds name (else the only match of glob) in dir or its parent.
func besideModel(dir, name, glob string) string {
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if p := filepath.Join(d, name); regular(p) {
			return p
		}
	}
	if glob == "" {
		return ""
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if m, _ := filepath.Glob(filepath.Join(d, glob)); len(m) == 1 && regular(m[0]) {
			return m[0]
		}
	}
	return ""
}

func loadLibraries(cfg Config) error {
	if err := load(cfg.BaseLibrary, cfg.Library); err != nil {
		return fmt.Errorf("%w: %s: cannot load %s (%s, or set %s): %v",
			asr.ErrUnavailable, Name, cfg.Library, packages, EnvLibrary, err)
	}
	return nil
}

func regular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
}

var _ asr.Engine = (*Engine)(nil)

// errNoWords is returned when none of the phrases can be said with the dictionary.
var errNoWords = errors.New("no phrase has only dictionary words")
