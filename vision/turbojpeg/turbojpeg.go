// Package turbojpeg decodes JPEGs with libjpeg-turbo's TurboJPEG API, loaded at run time,
// directly at the smallest DCT scale (M/8) that still covers the size a model needs: for
// a 1-megapixel photo and a 224-pixel model that skips most of the decoding work. The
// binary builds and runs without the library (and without cgo): Load then says why, and
// callers decode in Go. It is a leaf: the only cgo of the vision stage lives here.
package turbojpeg

import "errors"

// EnvLib names the environment variable that points at libturbojpeg.so.
const EnvLib = "SWITCHBOARD_TURBOJPEG_LIB"

var (
	// ErrUnavailable: libjpeg-turbo cannot be used (not installed, or no cgo).
	ErrUnavailable = errors.New("turbojpeg: unavailable")
	// ErrCorrupt: libjpeg-turbo cannot read the file.
	ErrCorrupt = errors.New("turbojpeg: cannot decode")
	// ErrTooManyPixels: the header names more pixels than allowed.
	ErrTooManyPixels = errors.New("turbojpeg: too many pixels")
)

// ScaledSize is the image size at the smallest DCT scale M/8 (M = 1…8) whose short side
// still reaches minShort; TurboJPEG rounds scaled sizes up.
func ScaledSize(w, h, minShort int) (int, int) {
	short := min(w, h)
	m := 8
	if minShort > 0 {
		for m = 1; m < 8 && (short*m+7)/8 < minShort; m++ {
		}
	}
	return (w*m + 7) / 8, (h*m + 7) / 8
}
