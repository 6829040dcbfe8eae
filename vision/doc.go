// Package vision serves the vision step of the message flow, on the image parts of a
// turn: it decodes customer photos under strict limits, turns them into the float32
// tensor a classifier's manifest asks for, and maps the classifier's scores to top-k
// labels and support categories.
//
// Classifier runs a version of the model registry (models/, through its small Registry
// interface) with that version's preprocessing and labels, and evaluates versions for the
// registry (models.Evaluator); models/ owns the ONNX sessions and manifests, and the
// libjpeg-turbo decoder is the cgo leaf vision/turbojpeg. The flow for one photo is
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
