package vision

import (
	"errors"
	"fmt"
	"image"

	"github.com/switchboard-cs/switchboard/vision/turbojpeg"
)

// EnvTurboJPEG names the environment variable that points at libturbojpeg.so.
const EnvTurboJPEG = turbojpeg.EnvLib

// TurboJPEG loads libjpeg-turbo once and reports whether it is usable; without it JPEGs
// are decoded by image/jpeg.
func TurboJPEG() error { return turbojpeg.Load() }

// decodeJPEGScaledInto decodes a JPEG with libjpeg-turbo at the smallest scale M/8 whose
// short side is at least minShort (full size when minShort ≤ 0), into buf when it is
// large enough, checking the pixel limit from the header first.
func decodeJPEGScaledInto(data []byte, lim Limits, minShort int, buf []byte) (*image.RGBA, error) {
	img, err := turbojpeg.Decode(data, lim.MaxPixels, minShort, buf)
	switch {
	case errors.Is(err, turbojpeg.ErrTooManyPixels):
		return nil, fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, turbojpeg.ErrCorrupt):
		return nil, fmt.Errorf("%w: %v", ErrImage, err)
	}
	return img, err
}

// scaledSize is turbojpeg.ScaledSize: the size libjpeg-turbo decodes at.
func scaledSize(w, h, minShort int) (int, int) { return turbojpeg.ScaledSize(w, h, minShort) }
