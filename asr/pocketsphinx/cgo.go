//go:build cgo

package pocketsphinx

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// Opaque PocketSphinx 5prealpha / SphinxBase types: no headers are needed to build.
typedef struct sb_ps_decoder_s sb_ps_decoder;
typedef struct sb_ps_seg_s sb_ps_seg;
typedef struct sb_cmd_ln_s sb_cmd_ln;
typedef struct sb_logmath_s sb_logmath;
typedef struct sb_arg_s sb_arg;

static void *sb_ps_base, *sb_ps_lib;

static sb_cmd_ln *(*sb_cmd_ln_parse_r_fn)(sb_cmd_ln *, const sb_arg *, int, char **, int);
static int (*sb_cmd_ln_free_r_fn)(sb_cmd_ln *);
static void (*sb_err_set_callback_fn)(void (*)(void *, int, const char *, ...), void *);
static void (*sb_err_set_logfp_fn)(FILE *);
static double (*sb_logmath_exp_fn)(sb_logmath *, int);

static const sb_arg *(*sb_ps_args_fn)(void);
static sb_ps_decoder *(*sb_ps_init_fn)(sb_cmd_ln *);
static int (*sb_ps_free_fn)(sb_ps_decoder *);
static int (*sb_ps_start_utt_fn)(sb_ps_decoder *);
static int (*sb_ps_process_raw_fn)(sb_ps_decoder *, const short *, size_t, int, int);
static int (*sb_ps_end_utt_fn)(sb_ps_decoder *);
static int (*sb_ps_start_stream_fn)(sb_ps_decoder *);
static const char *(*sb_ps_get_hyp_fn)(sb_ps_decoder *, int *);
static sb_ps_seg *(*sb_ps_seg_iter_fn)(sb_ps_decoder *);
static sb_ps_seg *(*sb_ps_seg_next_fn)(sb_ps_seg *);
static const char *(*sb_ps_seg_word_fn)(sb_ps_seg *);
static void (*sb_ps_seg_frames_fn)(sb_ps_seg *, int *, int *);
static int (*sb_ps_seg_prob_fn)(sb_ps_seg *, int *, int *, int *);
static void (*sb_ps_seg_free_fn)(sb_ps_seg *);
static sb_logmath *(*sb_ps_get_logmath_fn)(sb_ps_decoder *);
static int (*sb_ps_set_jsgf_string_fn)(sb_ps_decoder *, const char *, const char *);
static int (*sb_ps_set_search_fn)(sb_ps_decoder *, const char *);
static char *(*sb_ps_lookup_word_fn)(sb_ps_decoder *, const char *);

// The last warning or error SphinxBase reported on this thread; every shim below clears
// it first, so a Go call reads the messages of its own C call.
static __thread char sb_ps_errbuf[512];

// SphinxBase ends the process (exit) after a FATAL message, e.g. on a corrupt model
// file. While a shim runs, sb_ps_jmp points at its jump buffer and the log callback
// jumps back into the shim instead, which reports the failure; what the library had
// allocated on the way is leaked and the decoder involved is never used again.
static __thread jmp_buf *sb_ps_jmp;

static void sb_ps_log(void *ud, int level, const char *fmt, ...) {
	(void)ud;
	if (level < 3) return; // DEBUG, INFO, INFOCONT
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sb_ps_errbuf, sizeof sb_ps_errbuf, fmt, ap);
	va_end(ap);
	if (level >= 5 && sb_ps_jmp) longjmp(*sb_ps_jmp, 1); // FATAL
}

static const char *sb_ps_lasterr(void) { return sb_ps_errbuf; }

// SB_GUARD arms the jump for the rest of the shim; SB_DISARM must run before it returns.
#define SB_GUARD(failed) \
	jmp_buf sb_jb; \
	sb_ps_errbuf[0] = 0; \
	if (setjmp(sb_jb)) { sb_ps_jmp = NULL; return failed; } \
	sb_ps_jmp = &sb_jb
#define SB_DISARM() sb_ps_jmp = NULL

// SB_FATAL is what a guarded shim returns (or sets) when SphinxBase hit a fatal error.
#define SB_FATAL (-1000)

#define SB_SYM(h, var, name) do { *(void **)(&var) = dlsym(h, name); if (!var) return name; } while (0)

// sb_ps_load opens SphinxBase then PocketSphinx and resolves the API; it returns NULL
// or what failed (dlerror text or a missing symbol).
static const char *sb_ps_load(const char *base, const char *lib) {
	sb_ps_base = dlopen(base, RTLD_NOW | RTLD_GLOBAL);
	if (!sb_ps_base) return dlerror();
	sb_ps_lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!sb_ps_lib) {
		const char *msg = dlerror();
		dlclose(sb_ps_base);
		sb_ps_base = NULL;
		return msg;
	}
	SB_SYM(sb_ps_base, sb_cmd_ln_parse_r_fn, "cmd_ln_parse_r");
	SB_SYM(sb_ps_base, sb_cmd_ln_free_r_fn, "cmd_ln_free_r");
	SB_SYM(sb_ps_base, sb_err_set_callback_fn, "err_set_callback");
	SB_SYM(sb_ps_base, sb_logmath_exp_fn, "logmath_exp");
	SB_SYM(sb_ps_base, sb_err_set_logfp_fn, "err_set_logfp");
	SB_SYM(sb_ps_lib, sb_ps_args_fn, "ps_args");
	SB_SYM(sb_ps_lib, sb_ps_init_fn, "ps_init");
	SB_SYM(sb_ps_lib, sb_ps_free_fn, "ps_free");
	SB_SYM(sb_ps_lib, sb_ps_start_utt_fn, "ps_start_utt");
	SB_SYM(sb_ps_lib, sb_ps_process_raw_fn, "ps_process_raw");
	SB_SYM(sb_ps_lib, sb_ps_end_utt_fn, "ps_end_utt");
	SB_SYM(sb_ps_lib, sb_ps_start_stream_fn, "ps_start_stream");
	SB_SYM(sb_ps_lib, sb_ps_get_hyp_fn, "ps_get_hyp");
	SB_SYM(sb_ps_lib, sb_ps_seg_iter_fn, "ps_seg_iter");
	SB_SYM(sb_ps_lib, sb_ps_seg_next_fn, "ps_seg_next");
	SB_SYM(sb_ps_lib, sb_ps_seg_word_fn, "ps_seg_word");
	SB_SYM(sb_ps_lib, sb_ps_seg_frames_fn, "ps_seg_frames");
	SB_SYM(sb_ps_lib, sb_ps_seg_prob_fn, "ps_seg_prob");
	SB_SYM(sb_ps_lib, sb_ps_seg_free_fn, "ps_seg_free");
	SB_SYM(sb_ps_lib, sb_ps_get_logmath_fn, "ps_get_logmath");
	SB_SYM(sb_ps_lib, sb_ps_set_jsgf_string_fn, "ps_set_jsgf_string");
	SB_SYM(sb_ps_lib, sb_ps_set_search_fn, "ps_set_search");
	SB_SYM(sb_ps_lib, sb_ps_lookup_word_fn, "ps_lookup_word");
	// Messages go to sb_ps_log; the configuration dump of ps_init, written straight to
	// the log stream, goes nowhere.
	sb_err_set_logfp_fn(NULL);
	sb_err_set_callback_fn(sb_ps_log, NULL);
	return NULL;
}

// sb_ps_new parses argv (strictly: unknown flags fail) and makes a decoder; on failure
// it returns NULL and sets *fatal when SphinxBase hit a fatal error.
static sb_ps_decoder *sb_ps_new(int argc, char **argv, int *fatal) {
	*fatal = 1;
	SB_GUARD(NULL);
	sb_cmd_ln *cfg = sb_cmd_ln_parse_r_fn(NULL, sb_ps_args_fn(), argc, argv, 1);
	if (!cfg) {
		SB_DISARM();
		*fatal = 0;
		if (!sb_ps_errbuf[0]) snprintf(sb_ps_errbuf, sizeof sb_ps_errbuf, "invalid decoder arguments");
		return NULL;
	}
	sb_ps_decoder *ps = sb_ps_init_fn(cfg);
	sb_cmd_ln_free_r_fn(cfg);
	SB_DISARM();
	*fatal = 0;
	return ps;
}

// sb_ps_probe makes a decoder from argv in a forked child, because a corrupt model file
// can make PocketSphinx crash (SIGSEGV) rather than fail. It returns 0 when the child
// made the decoder, 1 when it failed cleanly, 128+signal when the child died of a signal
// (SIGALRM: it took longer than timeout seconds), -1 when fork or wait failed. The child
// runs only C code and leaves with _exit; the libraries are loaded before the fork.
static int sb_ps_probe(int argc, char **argv, unsigned timeout) {
	pid_t pid = fork();
	if (pid < 0) return -1;
	if (pid == 0) {
		int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM};
		for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) { dup2(devnull, 1); dup2(devnull, 2); }
		alarm(timeout);
		int fatal;
		_exit(sb_ps_new(argc, argv, &fatal) ? 0 : 1);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) return -1;
	}
	if (WIFEXITED(st)) return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
	return -1;
}

static void sb_ps_free(sb_ps_decoder *ps) { sb_ps_free_fn(ps); }

static int sb_ps_set_grammar(sb_ps_decoder *ps, const char *jsgf) {
	SB_GUARD(SB_FATAL);
	int r = sb_ps_set_jsgf_string_fn(ps, "grammar", jsgf);
	if (r >= 0) r = sb_ps_set_search_fn(ps, "grammar");
	SB_DISARM();
	return r;
}

static int sb_ps_known(sb_ps_decoder *ps, const char *word) {
	char *p = sb_ps_lookup_word_fn(ps, word);
	if (!p) return 0;
	free(p);
	return 1;
}

// sb_ps_start starts an utterance, first a new stream when stream is set: segment times
// count from the start of the stream, and noise estimates are reset.
static int sb_ps_start(sb_ps_decoder *ps, int stream) {
	SB_GUARD(SB_FATAL);
	int r = stream ? sb_ps_start_stream_fn(ps) : 0;
	if (r >= 0) r = sb_ps_start_utt_fn(ps);
	SB_DISARM();
	return r;
}

static int sb_ps_end(sb_ps_decoder *ps) {
	SB_GUARD(SB_FATAL);
	int r = sb_ps_end_utt_fn(ps);
	SB_DISARM();
	return r;
}

// sb_ps_process feeds samples (the whole utterance when full is set, so that cepstral
// mean normalization is computed over all of it); it returns the frames searched (< 0 on
// error).
static int sb_ps_process(sb_ps_decoder *ps, const short *pcm, size_t n, int full) {
	SB_GUARD(SB_FATAL);
	int r = sb_ps_process_raw_fn(ps, pcm, n, 0, full);
	SB_DISARM();
	return r;
}

static const char *sb_ps_hyp(sb_ps_decoder *ps) {
	SB_GUARD(NULL);
	const char *h = sb_ps_get_hyp_fn(ps, NULL);
	SB_DISARM();
	return h;
}

// sb_ps_words copies up to cap word segments of the current hypothesis: word text into
// words (NUL-separated, wcap bytes), start and end frames, posterior probability.
static int sb_ps_words(sb_ps_decoder *ps, char *words, int wcap, int *sf, int *ef, double *conf, int cap) {
	SB_GUARD(SB_FATAL);
	sb_logmath *lm = sb_ps_get_logmath_fn(ps);
	int n = 0, off = 0;
	sb_ps_seg *s = sb_ps_seg_iter_fn(ps);
	for (; s && n < cap; s = sb_ps_seg_next_fn(s)) {
		const char *w = sb_ps_seg_word_fn(s);
		int len = w ? (int)strlen(w) : 0;
		if (off + len + 1 > wcap) break;
		if (len) memcpy(words + off, w, len);
		words[off + len] = 0;
		off += len + 1;
		sb_ps_seg_frames_fn(s, &sf[n], &ef[n]);
		int a, l, b;
		conf[n] = sb_logmath_exp_fn(lm, sb_ps_seg_prob_fn(s, &a, &l, &b));
		n++;
	}
	if (s) sb_ps_seg_free_fn(s);
	SB_DISARM();
	return n;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

var (
	loadMu   sync.Mutex
	loadedAs string // the PocketSphinx library loaded, once that succeeded
)

// load opens the libraries (process-global) once: a failure can be retried with other
// paths, a success is final and later calls with another library fail.
func load(base, lib string) error {
	loadMu.Lock()
	defer loadMu.Unlock()
	switch loadedAs {
	case lib:
		return nil
	case "":
	default:
		return fmt.Errorf("%s is already loaded; one PocketSphinx library per process", loadedAs)
	}
	cb, cl := C.CString(base), C.CString(lib)
	defer C.free(unsafe.Pointer(cb))
	defer C.free(unsafe.Pointer(cl))
	if msg := C.sb_ps_load(cb, cl); msg != nil {
		return fmt.Errorf("%s", C.GoString(msg))
	}
	loadedAs = lib
	return nil
}

// decoder is one ps_decoder_t; its methods must not be called concurrently. After a
// fatal SphinxBase error the decoder is abandoned (leaked, never freed or used again)
// and every method fails with errFatal.
type decoder struct{ ps *C.sb_ps_decoder }

// lastError is the SphinxBase message of the current thread's last shim call.
func lastError() string { return strings.TrimSpace(C.GoString(C.sb_ps_lasterr())) }

var (
	errDecoder = errors.New("pocketsphinx")
	errFatal   = errors.New("pocketsphinx: fatal library error, decoder abandoned")
)

func newDecoder(args []string) (*decoder, error) {
	argv := make([]*C.char, len(args)+1) // NULL-terminated, as argv
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	// argv lives in Go memory but holds only C pointers, which cgo allows.
	var fatal C.int
	ps := C.sb_ps_new(C.int(len(args)), &argv[0], &fatal)
	if ps == nil {
		if fatal != 0 {
			return nil, fmt.Errorf("%w: ps_init: %s", errFatal, lastError())
		}
		return nil, fmt.Errorf("%w: ps_init failed: %s", errDecoder, lastError())
	}
	return &decoder{ps: ps}, nil
}

// probeDecoder makes a decoder from args in a child process and reports how that went:
// nil when it worked or failed cleanly (the caller then gets the error in-process), an
// error when the child crashed or hung. When no child can be made (fork failed, e.g.
// for memory), it returns nil too: the files passed resolve's checks, and refusing to
// load would make a good model unavailable.
func probeDecoder(args []string, timeout time.Duration) error {
	argv := make([]*C.char, len(args)+1)
	for i, a := range args {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	secs := max(int(timeout/time.Second), 1)
	switch st := int(C.sb_ps_probe(C.int(len(args)), &argv[0], C.uint(secs))); {
	case st == 0 || st == 1 || st == -1:
		return nil
	case st == 128+int(syscall.SIGALRM):
		return fmt.Errorf("%w: loading the model took over %s in the probe process", errDecoder, time.Duration(secs)*time.Second)
	case st > 128:
		return fmt.Errorf("%w: the probe process loading the model died of %v: corrupt model files?", errDecoder, syscall.Signal(st-128))
	default:
		return fmt.Errorf("%w: the probe process ended with status %d", errDecoder, st)
	}
}

// check turns a shim's return code into an error, abandoning the decoder on SB_FATAL.
func (d *decoder) check(r C.int, what string) error {
	switch {
	case r == C.SB_FATAL:
		d.ps = nil
		return fmt.Errorf("%w: %s: %s", errFatal, what, lastError())
	case r < 0:
		return fmt.Errorf("%w: %s: %s", errDecoder, what, lastError())
	}
	return nil
}

func (d *decoder) free() {
	if d.ps != nil {
		C.sb_ps_free(d.ps)
		d.ps = nil
	}
}

func (d *decoder) setGrammar(jsgf string) error {
	if d.ps == nil {
		return errFatal
	}
	cs := C.CString(jsgf)
	defer C.free(unsafe.Pointer(cs))
	return d.check(C.sb_ps_set_grammar(d.ps, cs), "grammar")
}

func (d *decoder) known(word string) bool {
	if d.ps == nil {
		return false
	}
	cs := C.CString(word)
	defer C.free(unsafe.Pointer(cs))
	return C.sb_ps_known(d.ps, cs) != 0
}

// start starts an utterance; stream starts a new stream first (segment frames count
// from the start of the stream).
func (d *decoder) start(stream bool) error {
	if d.ps == nil {
		return errFatal
	}
	s := C.int(0)
	if stream {
		s = 1
	}
	return d.check(C.sb_ps_start(d.ps, s), "ps_start_utt")
}

func (d *decoder) end() error {
	if d.ps == nil {
		return errFatal
	}
	return d.check(C.sb_ps_end(d.ps), "ps_end_utt")
}

// process feeds pcm (non-empty; the whole utterance when full).
func (d *decoder) process(pcm []int16, full bool) error {
	if d.ps == nil {
		return errFatal
	}
	f := C.int(0)
	if full {
		f = 1
	}
	r := C.sb_ps_process(d.ps, (*C.short)(unsafe.Pointer(&pcm[0])), C.size_t(len(pcm)), f)
	return d.check(r, "ps_process_raw")
}

func (d *decoder) hyp() string {
	if d.ps == nil {
		return ""
	}
	h := C.sb_ps_hyp(d.ps)
	if h == nil {
		return ""
	}
	return C.GoString(h)
}

// segment is one word segment of the best path, with frames counted from the start of
// the utterance.
type segment struct {
	word         string
	startF, endF int
	posterior    float64
}

const maxSegments = 4096

func (d *decoder) segments() ([]segment, error) {
	if d.ps == nil {
		return nil, errFatal
	}
	const wcap = 64 * 1024
	words := (*C.char)(C.malloc(wcap))
	defer C.free(unsafe.Pointer(words))
	sf := make([]C.int, maxSegments)
	ef := make([]C.int, maxSegments)
	conf := make([]C.double, maxSegments)
	n := C.sb_ps_words(d.ps, words, wcap, &sf[0], &ef[0], &conf[0], maxSegments)
	if err := d.check(n, "ps_seg_iter"); err != nil {
		return nil, err
	}
	buf := C.GoBytes(unsafe.Pointer(words), wcap)
	out := make([]segment, 0, int(n))
	for i := range int(n) {
		end := 0
		for end < len(buf) && buf[end] != 0 {
			end++
		}
		out = append(out, segment{word: string(buf[:end]), startF: int(sf[i]), endF: int(ef[i]), posterior: float64(conf[i])})
		buf = buf[min(end+1, len(buf)):]
	}
	return out, nil
}
