//go:build cgo

package turbojpeg

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef void *sb_tjhandle;
static void *sb_tj;
static sb_tjhandle (*sb_tj_init_fn)(void);
static int (*sb_tj_header_fn)(sb_tjhandle, const unsigned char *, unsigned long, int *, int *, int *, int *);
static int (*sb_tj_decompress_fn)(sb_tjhandle, const unsigned char *, unsigned long, unsigned char *, int, int, int, int, int);
static int (*sb_tj_destroy_fn)(sb_tjhandle);
static char *(*sb_tj_err_fn)(sb_tjhandle);

static int sb_tj_load(const char *path) {
	sb_tj = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!sb_tj) return -1;
	sb_tj_init_fn = (sb_tjhandle (*)(void))dlsym(sb_tj, "tjInitDecompress");
	sb_tj_header_fn = (int (*)(sb_tjhandle, const unsigned char *, unsigned long, int *, int *, int *, int *))dlsym(sb_tj, "tjDecompressHeader3");
	sb_tj_decompress_fn = (int (*)(sb_tjhandle, const unsigned char *, unsigned long, unsigned char *, int, int, int, int, int))dlsym(sb_tj, "tjDecompress2");
	sb_tj_destroy_fn = (int (*)(sb_tjhandle))dlsym(sb_tj, "tjDestroy");
	sb_tj_err_fn = (char *(*)(sb_tjhandle))dlsym(sb_tj, "tjGetErrorStr2");
	if (!sb_tj_init_fn || !sb_tj_header_fn || !sb_tj_decompress_fn || !sb_tj_destroy_fn || !sb_tj_err_fn) return -2;
	return 0;
}
static sb_tjhandle sb_tj_init(void) { return sb_tj_init_fn(); }
static int sb_tj_header(sb_tjhandle h, const unsigned char *buf, unsigned long n, int *w, int *ht, int *ss, int *cs) {
	return sb_tj_header_fn(h, buf, n, w, ht, ss, cs);
}
static int sb_tj_decompress(sb_tjhandle h, const unsigned char *buf, unsigned long n, unsigned char *dst, int w, int pitch, int ht, int pf, int flags) {
	return sb_tj_decompress_fn(h, buf, n, dst, w, pitch, ht, pf, flags);
}
static void sb_tj_destroy(sb_tjhandle h) { sb_tj_destroy_fn(h); }
static const char *sb_tj_err(sb_tjhandle h) { return sb_tj_err_fn(h); }
*/
import "C"

import (
	"fmt"
	"image"
	"os"
	"sync"
	"unsafe"
)

const (
	tjpfRGBA       = 7    // TJPF_RGBA: alpha filled with 0xFF
	tjFastDCT      = 2048 // TJFLAG_FASTDCT
	tjNoRealloc    = 1024 // TJFLAG_NOREALLOC
	tjFastUpsample = 256  // TJFLAG_FASTUPSAMPLE
)

var (
	loadOnce sync.Once
	loadErr  error
	handles  = sync.Pool{New: func() any {
		h := C.sb_tj_init()
		if h == nil {
			return nil
		}
		return h
	}}
)

// Load loads libjpeg-turbo ($SWITCHBOARD_TURBOJPEG_LIB, else libturbojpeg.so.0 from the
// system) once and reports whether it is usable.
func Load() error {
	loadOnce.Do(func() {
		path := os.Getenv(EnvLib)
		if path == "" {
			path = "libturbojpeg.so.0"
		}
		cpath := C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
		switch C.sb_tj_load(cpath) {
		case 0:
		case -1:
			loadErr = fmt.Errorf("%w: %s not found (apt-get install libturbojpeg0); JPEGs are decoded in Go", ErrUnavailable, path)
		default:
			loadErr = fmt.Errorf("%w: %s lacks the TurboJPEG API", ErrUnavailable, path)
		}
	})
	return loadErr
}

// Decode decodes a JPEG at the smallest scale M/8 whose short side is at least minShort
// (full size when minShort ≤ 0), into buf when it is large enough. The header is read
// first: a JPEG of more than maxPixels is refused with ErrTooManyPixels before any pixel
// is decoded; a file libjpeg-turbo cannot read is ErrCorrupt.
func Decode(data []byte, maxPixels int64, minShort int, buf []byte) (*image.RGBA, error) {
	if err := Load(); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	hv := handles.Get()
	if hv == nil {
		return nil, fmt.Errorf("%w: tjInitDecompress failed", ErrUnavailable)
	}
	h := hv.(C.sb_tjhandle)
	defer handles.Put(hv)
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	var w, ht, ss, cs C.int
	if C.sb_tj_header(h, src, C.ulong(len(data)), &w, &ht, &ss, &cs) != 0 {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, C.GoString(C.sb_tj_err(h)))
	}
	if w <= 0 || ht <= 0 {
		return nil, fmt.Errorf("%w: JPEG of %d×%d pixels", ErrCorrupt, w, ht)
	}
	if int64(w)*int64(ht) > maxPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels, limit %d", ErrTooManyPixels, w, ht, maxPixels)
	}
	sw, sh := ScaledSize(int(w), int(ht), minShort)
	var img *image.RGBA
	if need := 4 * sw * sh; cap(buf) >= need {
		img = &image.RGBA{Pix: buf[:need], Stride: 4 * sw, Rect: image.Rect(0, 0, sw, sh)}
	} else {
		img = image.NewRGBA(image.Rect(0, 0, sw, sh))
	}
	if C.sb_tj_decompress(h, src, C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&img.Pix[0])),
		C.int(sw), C.int(img.Stride), C.int(sh), tjpfRGBA, tjFastDCT|tjFastUpsample|tjNoRealloc) != 0 {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, C.GoString(C.sb_tj_err(h)))
	}
	return img, nil
}
