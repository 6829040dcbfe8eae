//go:build !cgo

package audio

import "fmt"

// EnvOpusFile names the environment variable that points at libopusfile.so.
const EnvOpusFile = "SWITCHBOARD_OPUSFILE_LIB"

// Opus reports that OGG/Opus cannot be decoded: libopusfile is loaded through cgo, and
// this binary was built without it.
func Opus() error {
	return fmt.Errorf("%w: built without cgo, so libopusfile (Debian package libopusfile0) "+
		"cannot be loaded; rebuild with CGO_ENABLED=1 to decode OGG/Opus", ErrUnavailable)
}

func decodeOpus([]byte, Limits) ([]int16, Info, error) {
	return nil, Info{}, Opus()
}
