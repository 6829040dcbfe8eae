//go:build cgo

package audio

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct sb_opf sb_opf; // OggOpusFile, opaque
static sb_opf *(*sb_op_open_memory_fn)(const unsigned char *, size_t, int *);
static int64_t (*sb_op_pcm_total_fn)(const sb_opf *, int);
static int (*sb_op_channel_count_fn)(const sb_opf *, int);
static int (*sb_op_read_stereo_fn)(sb_opf *, int16_t *, int);
static void (*sb_op_free_fn)(sb_opf *);

// sb_op_load resolves every function before publishing any, so a failed attempt leaves
// a previous successful load intact. -1: dlopen failed; -2: a symbol is missing.
static int sb_op_load(const char *path) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) return -1;
	void *open = dlsym(h, "op_open_memory");
	void *total = dlsym(h, "op_pcm_total");
	void *chans = dlsym(h, "op_channel_count");
	void *rd = dlsym(h, "op_read_stereo");
	void *fr = dlsym(h, "op_free");
	if (!open || !total || !chans || !rd || !fr) { dlclose(h); return -2; }
	sb_op_open_memory_fn = (sb_opf *(*)(const unsigned char *, size_t, int *))open;
	sb_op_pcm_total_fn = (int64_t (*)(const sb_opf *, int))total;
	sb_op_channel_count_fn = (int (*)(const sb_opf *, int))chans;
	sb_op_read_stereo_fn = (int (*)(sb_opf *, int16_t *, int))rd;
	sb_op_free_fn = (void (*)(sb_opf *))fr;
	return 0;
}
static const char *sb_op_dlerror(void) { const char *e = dlerror(); return e ? e : ""; }
static sb_opf *sb_op_open(const unsigned char *p, size_t n, int *err) { return sb_op_open_memory_fn(p, n, err); }
static int64_t sb_op_total(const sb_opf *f) { return sb_op_pcm_total_fn(f, -1); }
static int sb_op_channels(const sb_opf *f) { return sb_op_channel_count_fn(f, -1); }
static int sb_op_read(sb_opf *f, int16_t *pcm, int n) { return sb_op_read_stereo_fn(f, pcm, n); }
static void sb_op_free(sb_opf *f) { sb_op_free_fn(f); }
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"
)

// EnvOpusFile names the environment variable that points at libopusfile.so.
const EnvOpusFile = "SWITCHBOARD_OPUSFILE_LIB"

// opusRate is the rate libopusfile always decodes at.
const opusRate = 48000

var (
	opusOnce sync.Once
	opusErr  error
)

// Opus loads libopusfile ($SWITCHBOARD_OPUSFILE_LIB, else libopusfile.so.0 from the
// system) once and reports whether OGG/Opus can be decoded; the error wraps
// ErrUnavailable and names the Debian package. For `switchboard doctor` and /readyz.
func Opus() error {
	opusOnce.Do(func() {
		path := os.Getenv(EnvOpusFile)
		if path == "" {
			path = "libopusfile.so.0"
		}
		opusErr = loadOpusFile(path)
	})
	return opusErr
}

// loadOpusFile dlopens path and resolves the functions decodeOpus calls.
func loadOpusFile(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	switch C.sb_op_load(cpath) {
	case 0:
		return nil
	case -1:
		return fmt.Errorf("%w: %s could not be loaded (%s); install the Debian package libopusfile0 "+
			"to decode OGG/Opus voice notes", ErrUnavailable, path, C.GoString(C.sb_op_dlerror()))
	default:
		return fmt.Errorf("%w: %s lacks the opusfile API (op_open_memory, op_read_stereo, …); "+
			"install the Debian package libopusfile0", ErrUnavailable, path)
	}
}

// opusErrors names libopusfile's error codes.
var opusErrors = map[C.int]string{
	-1: "OP_FALSE", -3: "OP_HOLE", -128: "OP_EREAD", -129: "OP_EFAULT", -130: "OP_EIMPL",
	-131: "OP_EINVAL", -132: "OP_ENOTFORMAT (not an Opus stream)", -133: "OP_EBADHEADER",
	-134: "OP_EVERSION", -135: "OP_ENOTAUDIO", -136: "OP_EBADPACKET", -137: "OP_EBADLINK",
	-138: "OP_ENOSEEK", -139: "OP_EBADTIMESTAMP",
}

func opusError(code C.int) string {
	if s, ok := opusErrors[code]; ok {
		return s
	}
	return fmt.Sprintf("error %d", int(code))
}

// opusReadFrames is how many stereo frames one op_read_stereo call may return: 120 ms,
// the longest Opus packet.
const opusReadFrames = 5760

// maxOpusHoles bounds the gaps (OP_HOLE) tolerated in one stream.
const maxOpusHoles = 100

// decodeOpus decodes an OGG/Opus file to 16 kHz mono. The duration limit is checked
// from op_pcm_total before decoding and enforced again while decoding.
func decodeOpus(data []byte, lim Limits) ([]int16, Info, error) {
	if err := Opus(); err != nil {
		return nil, Info{}, err
	}
	// libopusfile keeps the pointer to data inside the OggOpusFile until op_free.
	var pin runtime.Pinner
	pin.Pin(&data[0])
	defer pin.Unpin()
	var cerr C.int
	f := C.sb_op_open((*C.uchar)(unsafe.Pointer(&data[0])), C.size_t(len(data)), &cerr)
	if f == nil {
		return nil, Info{}, fmt.Errorf("%w: OGG/Opus: %s", ErrAudio, opusError(cerr))
	}
	defer C.sb_op_free(f)
	info := Info{Format: "opus", Encoding: "opus", SampleRate: opusRate, Channels: int(C.sb_op_channels(f))}
	total := int64(C.sb_op_total(f)) // negative when unknown
	if total >= 0 {
		if err := lim.checkFrames(total, opusRate); err != nil {
			return nil, Info{}, err
		}
	}
	maxFrames := int64(lim.MaxDuration.Seconds() * opusRate)
	r, err := NewResampler(opusRate)
	if err != nil {
		return nil, Info{}, err
	}
	out := make([]int16, 0, r.outputLen(max(total, 0)))
	pcm := make([]int16, 2*opusReadFrames)
	var mono [opusReadFrames]float32
	var frames, holes int64
	for {
		n := C.sb_op_read(f, (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
		if n == -3 && holes < maxOpusHoles { // OP_HOLE: a gap; the data after it still decodes
			holes++
			continue
		}
		if n < 0 {
			return nil, Info{}, fmt.Errorf("%w: OGG/Opus after %v: %s", ErrAudio,
				framesDuration(frames, opusRate), opusError(n))
		}
		if n == 0 {
			break
		}
		if frames += int64(n); frames > maxFrames {
			return nil, Info{}, lim.checkFrames(frames, opusRate)
		}
		for i := range int(n) {
			mono[i] = (float32(pcm[2*i]) + float32(pcm[2*i+1])) / 2
		}
		out = r.appendFloat(out, mono[:n])
	}
	if frames == 0 {
		return nil, Info{}, fmt.Errorf("%w: OGG/Opus stream without audio", ErrAudio)
	}
	info.Duration = framesDuration(frames, opusRate)
	return r.appendFlush(out), info, nil
}
