//go:build cgo

package vosk

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

// Opaque libvosk types: no header is needed to build.
typedef struct sb_vosk_model_s sb_vosk_model;
typedef struct sb_vosk_rec_s sb_vosk_rec;

static void *sb_vosk;
static void (*sb_vosk_set_log_level_fn)(int);
static sb_vosk_model *(*sb_vosk_model_new_fn)(const char *);
static void (*sb_vosk_model_free_fn)(sb_vosk_model *);
static int (*sb_vosk_model_find_word_fn)(sb_vosk_model *, const char *);
static sb_vosk_rec *(*sb_vosk_recognizer_new_fn)(sb_vosk_model *, float);
static sb_vosk_rec *(*sb_vosk_recognizer_new_grm_fn)(sb_vosk_model *, float, const char *);
static void (*sb_vosk_recognizer_set_words_fn)(sb_vosk_rec *, int);
static int (*sb_vosk_recognizer_accept_waveform_s_fn)(sb_vosk_rec *, const short *, int);
static const char *(*sb_vosk_recognizer_partial_result_fn)(sb_vosk_rec *);
static const char *(*sb_vosk_recognizer_result_fn)(sb_vosk_rec *);
static const char *(*sb_vosk_recognizer_final_result_fn)(sb_vosk_rec *);
static void (*sb_vosk_recognizer_free_fn)(sb_vosk_rec *);

#define SB_SYM(var, name) do { *(void **)(&var) = dlsym(sb_vosk, name); if (!var) return name; } while (0)

// sb_vosk_load opens libvosk and resolves the API; it returns NULL or what failed.
static const char *sb_vosk_load(const char *path) {
	sb_vosk = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!sb_vosk) return dlerror();
	SB_SYM(sb_vosk_set_log_level_fn, "vosk_set_log_level");
	SB_SYM(sb_vosk_model_new_fn, "vosk_model_new");
	SB_SYM(sb_vosk_model_free_fn, "vosk_model_free");
	SB_SYM(sb_vosk_model_find_word_fn, "vosk_model_find_word");
	SB_SYM(sb_vosk_recognizer_new_fn, "vosk_recognizer_new");
	SB_SYM(sb_vosk_recognizer_new_grm_fn, "vosk_recognizer_new_grm");
	SB_SYM(sb_vosk_recognizer_set_words_fn, "vosk_recognizer_set_words");
	SB_SYM(sb_vosk_recognizer_accept_waveform_s_fn, "vosk_recognizer_accept_waveform_s");
	SB_SYM(sb_vosk_recognizer_partial_result_fn, "vosk_recognizer_partial_result");
	SB_SYM(sb_vosk_recognizer_result_fn, "vosk_recognizer_result");
	SB_SYM(sb_vosk_recognizer_final_result_fn, "vosk_recognizer_final_result");
	SB_SYM(sb_vosk_recognizer_free_fn, "vosk_recognizer_free");
	return NULL;
}

static void sb_vosk_log_level(int level) { sb_vosk_set_log_level_fn(level); }

// sb_vosk_probe loads the model in a forked child: vosk_model_new returns NULL when Kaldi
// reports an error, but a failed Kaldi assertion aborts the process and a corrupt file
// can crash it, or make a later step crash. The child's stderr (Kaldi's messages) is copied into msg. It returns 0
// when the child loaded the model, 1 when vosk_model_new returned NULL, 128+signal when
// the child died of a signal (SIGALRM: over timeout seconds), -1 when fork or wait failed,
// -2 when the library is not loaded.
static int sb_vosk_probe(const char *path, int log_level, unsigned timeout, char *msg, int msgcap) {
	int fds[2];
	msg[0] = 0;
	if (!sb_vosk_model_new_fn) return -2; // not loaded
	if (pipe(fds) < 0) return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM, SIGPIPE};
		for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		close(fds[0]);
		dup2(fds[1], 2);
		dup2(fds[1], 1);
		alarm(timeout);
		sb_vosk_set_log_level_fn(log_level);
		sb_vosk_model *m = sb_vosk_model_new_fn(path);
		_exit(m ? 0 : 1);
	}
	close(fds[1]);
	// Keep the tail of what the child wrote.
	char buf[4096];
	int used = 0;
	for (;;) {
		ssize_t n = read(fds[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		if (n >= msgcap - 1) {
			memcpy(msg, buf + n - (msgcap - 1), msgcap - 1);
			used = msgcap - 1;
		} else {
			if (used + n > msgcap - 1) {
				int drop = used + n - (msgcap - 1);
				memmove(msg, msg + drop, used - drop);
				used -= drop;
			}
			memcpy(msg + used, buf, n);
			used += n;
		}
		msg[used] = 0;
	}
	close(fds[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) return -1;
	}
	if (WIFEXITED(st)) return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
	return -1;
}

static sb_vosk_model *sb_vosk_model_new(const char *path) { return sb_vosk_model_new_fn(path); }
static void sb_vosk_model_free(sb_vosk_model *m) { sb_vosk_model_free_fn(m); }
static int sb_vosk_find_word(sb_vosk_model *m, const char *w) { return sb_vosk_model_find_word_fn(m, w); }

static sb_vosk_rec *sb_vosk_rec_new(sb_vosk_model *m, float rate, const char *grammar, int words) {
	sb_vosk_rec *r = grammar ? sb_vosk_recognizer_new_grm_fn(m, rate, grammar) : sb_vosk_recognizer_new_fn(m, rate);
	if (r && words) sb_vosk_recognizer_set_words_fn(r, 1);
	return r;
}

static int sb_vosk_accept(sb_vosk_rec *r, const short *pcm, int n) { return sb_vosk_recognizer_accept_waveform_s_fn(r, pcm, n); }
static const char *sb_vosk_partial(sb_vosk_rec *r) { return sb_vosk_recognizer_partial_result_fn(r); }
static const char *sb_vosk_result(sb_vosk_rec *r) { return sb_vosk_recognizer_result_fn(r); }
static const char *sb_vosk_final(sb_vosk_rec *r) { return sb_vosk_recognizer_final_result_fn(r); }
static void sb_vosk_rec_free(sb_vosk_rec *r) { sb_vosk_recognizer_free_fn(r); }
*/
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

var (
	loadMu   sync.Mutex
	loadedAs string // the library loaded, once that succeeded
)

// load opens libvosk (process-global) once: a failure can be retried with another path,
// a success is final and later calls with another path fail.
func load(path string, logLevel int) error {
	loadMu.Lock()
	defer loadMu.Unlock()
	switch loadedAs {
	case path:
		return nil
	case "":
	default:
		return fmt.Errorf("%s is already loaded; one libvosk per process", loadedAs)
	}
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	if msg := C.sb_vosk_load(cs); msg != nil {
		return fmt.Errorf("%s", C.GoString(msg))
	}
	C.sb_vosk_log_level(C.int(logLevel))
	loadedAs = path
	return nil
}

// probeModel loads the model at dir in a child process and returns nil when that
// worked, else what went wrong with the tail of Kaldi's messages. When no child can be
// made (fork failed, e.g. for memory), it returns nil: the folder passed CheckModel, and
// refusing to load would make a good model unavailable.
func probeModel(dir string, logLevel int, timeout time.Duration) error {
	cs := C.CString(dir)
	defer C.free(unsafe.Pointer(cs))
	const msgcap = 1024
	msg := (*C.char)(C.malloc(msgcap))
	defer C.free(unsafe.Pointer(msg))
	secs := max(int(timeout/time.Second), 1)
	st := int(C.sb_vosk_probe(cs, C.int(min(logLevel, 0)), C.uint(secs), msg, msgcap))
	out := lastLines(C.GoString(msg), 3)
	switch {
	case st == 0 || st == -1:
		return nil
	case st == 1:
		return fmt.Errorf("vosk_model_new failed: %s", out)
	case st == 128+int(syscall.SIGALRM):
		return fmt.Errorf("loading the model took over %s in the probe process", time.Duration(secs)*time.Second)
	case st > 128:
		return fmt.Errorf("the probe process loading the model died of %v: %s", syscall.Signal(st-128), out)
	default:
		return fmt.Errorf("the probe process ended with status %d (library loaded: %v)", st, st != -2)
	}
}

func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// model is a loaded VoskModel (reference-counted by libvosk: recognizers hold their own
// reference, so freeing it while recognizers live is safe).
type model struct{ m *C.sb_vosk_model }

func newModel(dir string) (*model, error) {
	cs := C.CString(dir)
	defer C.free(unsafe.Pointer(cs))
	m := C.sb_vosk_model_new(cs)
	if m == nil {
		return nil, fmt.Errorf("vosk_model_new(%s) returned NULL", dir)
	}
	return &model{m: m}, nil
}

func (m *model) free() {
	if m.m != nil {
		C.sb_vosk_model_free(m.m)
		m.m = nil
	}
}

func (m *model) known(word string) bool {
	cs := C.CString(word)
	defer C.free(unsafe.Pointer(cs))
	return C.sb_vosk_find_word(m.m, cs) >= 0
}

// kaldiRec is one VoskRecognizer; not safe for concurrent use.
type kaldiRec struct{ r *C.sb_vosk_rec }

// newKaldiRec makes a recognizer; grammar is a JSON list of phrases or "" for none.
func newKaldiRec(m *model, rate int, grammar string, words bool) (*kaldiRec, error) {
	var cg *C.char
	if grammar != "" {
		cg = C.CString(grammar)
		defer C.free(unsafe.Pointer(cg))
	}
	w := C.int(0)
	if words {
		w = 1
	}
	r := C.sb_vosk_rec_new(m.m, C.float(rate), cg, w)
	if r == nil {
		return nil, fmt.Errorf("vosk_recognizer_new returned NULL")
	}
	return &kaldiRec{r: r}, nil
}

// accept feeds pcm and reports whether an utterance ended (its result is then ready).
func (k *kaldiRec) accept(pcm []int16) (bool, error) {
	if len(pcm) == 0 {
		return false, nil
	}
	n := C.sb_vosk_accept(k.r, (*C.short)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
	if n < 0 {
		return false, fmt.Errorf("vosk_recognizer_accept_waveform_s failed")
	}
	return n == 1, nil
}

func (k *kaldiRec) partial() string { return C.GoString(C.sb_vosk_partial(k.r)) }
func (k *kaldiRec) result() string  { return C.GoString(C.sb_vosk_result(k.r)) }
func (k *kaldiRec) final() string   { return C.GoString(C.sb_vosk_final(k.r)) }

func (k *kaldiRec) free() {
	if k.r != nil {
		C.sb_vosk_rec_free(k.r)
		k.r = nil
	}
}
