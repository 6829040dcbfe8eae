package vision

import (
	"errors"
	"fmt"
	"image"
)

// DecodeFor decodes data for a model whose preprocessing needs a short side of at least
// minShort pixels. A JPEG goes through libjpeg-turbo (when it is installed) at the
// smallest DCT scale that still covers minShort, with its EXIF orientation applied;
// everything else, or a JPEG libjpeg-turbo rejects, goes through Decode. Limits apply as
// for Decode.
func DecodeFor(data []byte, lim Limits, minShort int) (image.Image, string, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	if f, ok := sniff(data); ok && f.name == "jpeg" && TurboJPEG() == nil {
		img, err := decodeJPEGScaled(data, lim, minShort)
		if err == nil {
			if o := exifOrientation(data); o != 1 {
				return &Oriented{Src: img, Orientation: o}, "jpeg", nil
			}
			return img, "jpeg", nil
		}
		if errors.Is(err, ErrTooLarge) {
			return nil, "jpeg", err
		}
		// image/jpeg gives the authoritative answer on what libjpeg-turbo refused
	}
	return Decode(data, lim)
}

// minShortSide is the smallest short side an image may be decoded at for p without
// losing resolution the resize would keep.
func (p Preprocess) minShortSide() int {
	if p.ResizeShort > 0 {
		return p.ResizeShort
	}
	return p.Crop
}
