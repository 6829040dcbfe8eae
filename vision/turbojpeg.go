package vision

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
	"errors"
	"fmt"
	"image"
	"os"
	"sync"
	"unsafe"
)

// libjpeg-turbo's TurboJPEG API is loaded at run time, so the binary builds and runs
// without it; JPEGs are then decoded by image/jpeg. With it, a JPEG is decoded directly at
// the smallest DCT scale (M/8) that still covers the size the model needs, which for a
// 1-megapixel photo and a 224-pixel model skips most of the decoding work.

// EnvTurboJPEG names the environment variable that points at libturbojpeg.so.
const EnvTurboJPEG = "SWITCHBOARD_TURBOJPEG_LIB"

const (
	tjpfRGBA       = 7    // TJPF_RGBA: alpha filled with 0xFF
	tjFastDCT      = 2048 // TJFLAG_FASTDCT
	tjNoRealloc    = 1024 // TJFLAG_NOREALLOC
	tjFastUpsample = 256  // TJFLAG_FASTUPSAMPLE
)

var (
	turboOnce sync.Once
	turboErr  error
	turboPool = sync.Pool{New: func() any {
		h := C.sb_tj_init()
		if h == nil {
			return nil
		}
		return h
	}}
)

// TurboJPEG loads libjpeg-turbo ($SWITCHBOARD_TURBOJPEG_LIB, else libturbojpeg.so.0 from
// the system) once and reports whether it is usable.
func TurboJPEG() error {
	turboOnce.Do(func() {
		path := os.Getenv(EnvTurboJPEG)
		if path == "" {
			path = "libturbojpeg.so.0"
		}
		cpath := C.CString(path)
		defer C.free(unsafe.Pointer(cpath))
		switch C.sb_tj_load(cpath) {
		case 0:
		case -1:
			turboErr = fmt.Errorf("vision: %s not found (apt-get install libturbojpeg0); JPEGs are decoded in Go", path)
		default:
			turboErr = fmt.Errorf("vision: %s lacks the TurboJPEG API", path)
		}
	})
	return turboErr
}

var errTurbo = errors.New("vision: turbojpeg")

// decodeJPEGScaled decodes a JPEG with libjpeg-turbo at the smallest scale M/8 whose
// short side is at least minShort (full size when minShort ≤ 0), checking the pixel
// limit from the header first.
func decodeJPEGScaled(data []byte, lim Limits, minShort int) (*image.RGBA, error) {
	return decodeJPEGScaledInto(data, lim, minShort, nil)
}

// decodeJPEGScaledInto is decodeJPEGScaled decoding into buf when it is large enough.
func decodeJPEGScaledInto(data []byte, lim Limits, minShort int, buf []byte) (*image.RGBA, error) {
	if err := TurboJPEG(); err != nil {
		return nil, err
	}
	hv := turboPool.Get()
	if hv == nil {
		return nil, fmt.Errorf("%w: tjInitDecompress failed", errTurbo)
	}
	h := hv.(C.sb_tjhandle)
	defer turboPool.Put(hv)
	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	var w, ht, ss, cs C.int
	if C.sb_tj_header(h, src, C.ulong(len(data)), &w, &ht, &ss, &cs) != 0 {
		return nil, fmt.Errorf("%w: %s", ErrImage, C.GoString(C.sb_tj_err(h)))
	}
	if w <= 0 || ht <= 0 {
		return nil, fmt.Errorf("%w: JPEG of %d×%d pixels", ErrImage, w, ht)
	}
	if int64(w)*int64(ht) > lim.MaxPixels {
		return nil, fmt.Errorf("%w: %d×%d pixels, limit %d", ErrTooLarge, w, ht, lim.MaxPixels)
	}
	sw, sh := scaledSize(int(w), int(ht), minShort)
	var img *image.RGBA
	if need := 4 * sw * sh; cap(buf) >= need {
		img = &image.RGBA{Pix: buf[:need], Stride: 4 * sw, Rect: image.Rect(0, 0, sw, sh)}
	} else {
		img = image.NewRGBA(image.Rect(0, 0, sw, sh))
	}
	if C.sb_tj_decompress(h, src, C.ulong(len(data)), (*C.uchar)(unsafe.Pointer(&img.Pix[0])),
		C.int(sw), C.int(img.Stride), C.int(sh), tjpfRGBA, tjFastDCT|tjFastUpsample|tjNoRealloc) != 0 {
		return nil, fmt.Errorf("%w: %s", ErrImage, C.GoString(C.sb_tj_err(h)))
	}
	return img, nil
}

// scaledSize is the image size at the smallest DCT scale M/8 (M = 1…8) whose short side
// still reaches minShort; TurboJPEG rounds scaled sizes up.
func scaledSize(w, h, minShort int) (int, int) {
	short := min(w, h)
	m := 8
	if minShort > 0 {
		for m = 1; m < 8 && (short*m+7)/8 < minShort; m++ {
		}
	}
	return (w*m + 7) / 8, (h*m + 7) / 8
}
