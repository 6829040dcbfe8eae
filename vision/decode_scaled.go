package vision

import (
	"bytes"
	"context"
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
	return decodeFor(context.Background(), data, lim, minShort, nil)
}

// decodeFor is DecodeFor that lets libjpeg-turbo decode into buf (the classifier's
// pooled buffers); the image is only valid as long as buf is. A decode in Go stops once
// ctx ends (libjpeg-turbo's is one short cgo call).
func decodeFor(ctx context.Context, data []byte, lim Limits, minShort int, buf []byte) (image.Image, string, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	if f, ok := sniff(data); ok && f.name == "jpeg" && TurboJPEG() == nil {
		img, err := decodeJPEGScaledInto(data, lim, minShort, buf)
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
	return DecodeContext(ctx, data, lim)
}

// minShortSide is the smallest short side an image may be decoded at for p without
// losing resolution the resize would keep.
func (p Preprocess) minShortSide() int {
	if p.ResizeShort > 0 {
		return p.ResizeShort
	}
	return p.Crop
}

// CheckHeader reads only the size limit, the format and the header of data: whatever it
// refuses, Decode would refuse too, at a fraction of the cost (no pixels are decoded).
func CheckHeader(data []byte, lim Limits) (format string, width, height int, err error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return "", 0, 0, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), lim.MaxBytes)
	}
	f, ok := sniff(data)
	if !ok {
		return "", 0, 0, fmt.Errorf("%w: unknown format (want JPEG, PNG, WebP or GIF)", ErrImage)
	}
	cfg, err := f.config(bytes.NewReader(data))
	if err != nil {
		return f.name, 0, 0, fmt.Errorf("%w: %s header: %v", ErrImage, f.name, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return f.name, 0, 0, fmt.Errorf("%w: %s of %d×%d pixels", ErrImage, f.name, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > lim.MaxPixels {
		return f.name, 0, 0, fmt.Errorf("%w: %d×%d = %d pixels, limit %d", ErrTooLarge, cfg.Width, cfg.Height, px, lim.MaxPixels)
	}
	return f.name, cfg.Width, cfg.Height, nil
}
