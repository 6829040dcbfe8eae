//go:build !cgo

package turbojpeg

import (
	"fmt"
	"image"
)

// Load reports that a build without cgo cannot load libjpeg-turbo.
func Load() error {
	return fmt.Errorf("%w: built without cgo; JPEGs are decoded in Go", ErrUnavailable)
}

// Decode is unavailable without cgo.
func Decode([]byte, int64, int, []byte) (*image.RGBA, error) { return nil, Load() }
