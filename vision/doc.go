// Package vision sits in the understand stage of the message flow, on the image parts of
// a turn: it decodes customer photos under strict limits, turns them into the float32
// tensor a classifier's manifest asks for, and maps the classifier's scores to top-k
// labels and support categories.
//
// The package never loads an ONNX file and knows nothing of the model registry: models/
// owns sessions and manifests, and hands vision the manifest's Preprocess section and the
// labels file. The flow for one photo is
//
//	img, format, err := vision.Decode(data, vision.DefaultLimits()) // ErrTooLarge / ErrImage → 4xx
//	x, shape, err := manifest.Preprocess.Tensor(img)                 // resize, crop, normalize
//	logits := …                                                      // models/ runs the session
//	top := cats.Apply(vision.TopK(logits, 5, labels))
//
// Decode checks the byte size, then only the header, so that a decompression bomb is
// rejected before any pixel is allocated; JPEG EXIF orientation is applied lazily (see
// Oriented). Preprocess.Tensor reads pixel slices directly (YCbCr, RGBA, NRGBA, Gray,
// Paletted), touching only the pixels the center crop needs, so decoding dominates the
// cost of a photo.
package vision
