package vision_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/vision"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

func registry(t *testing.T, repo string) *models.Registry {
	t.Helper()
	testenv.ORT(t)
	r, err := models.Open(context.Background(), models.Options{Dir: repo,
		Evaluators: map[string]models.Evaluator{vision.Task: vision.Evaluator{}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// TestMobileNetThroughRegistryAndStage classifies the shared photos with the trained
// MobileNetV2 int8 model, loaded by the registry, preprocessed per its manifest, and
// checks the expectations of images_expected_labels.md.
func TestMobileNetThroughRegistryAndStage(t *testing.T) {
	repo := t.TempDir()
	visiontest.MobileNet(t, repo, "imagenet", 1, "")
	clf := vision.NewClassifier(registry(t, repo), vision.Options{Model: "imagenet", TopK: 3,
		Categories: vision.Categories{"coffee": {"espresso", "cup"}, "pets": {"tabby", "tiger cat", "Egyptian cat"}}})
	ctx := context.Background()
	for _, tc := range []struct {
		photo    string
		top1     []int // any of these
		inTop2   []int // or one of these among the first two
		category string
	}{
		{"images_skimage/coffee.png", nil, []int{967, 968}, "coffee"},
		{"images_skimage/chelsea.png", []int{281, 282, 283, 284, 285}, nil, "pets"},
		{"images_caffe_cat/cat.jpg", []int{281, 282, 283, 284, 285}, nil, ""},
		{"images_wonnx/bald_eagle.jpeg", []int{22}, nil, ""},
		{"images_wonnx/pelican.jpeg", []int{144}, nil, ""},
		{"images_skimage/camera.png", []int{872}, nil, ""},
	} {
		data, err := os.ReadFile(visiontest.Photo(t, tc.photo))
		if err != nil {
			t.Fatal(err)
		}
		res, err := clf.Classify(ctx, data)
		if err != nil {
			t.Fatalf("%s: %v", tc.photo, err)
		}
		if res.Model != "imagenet" || res.Version != "1" || len(res.Labels) != 3 {
			t.Fatalf("%s: %+v", tc.photo, res)
		}
		idx := []int{res.Labels[0].Index, res.Labels[1].Index}
		ok := slices.Contains(tc.top1, idx[0]) || slices.Contains(tc.inTop2, idx[0]) || slices.Contains(tc.inTop2, idx[1])
		if !ok {
			t.Errorf("%s: top labels %+v", tc.photo, res.Labels)
		}
		if tc.category != "" && !slices.Contains(res.Categories, tc.category) {
			t.Errorf("%s: categories %v, want %s", tc.photo, res.Categories, tc.category)
		}
		t.Logf("%s → %s (%.3f)", tc.photo, res.Labels[0].Name, res.Labels[0].Score)
	}
	// a blurred photo and a page of text: nothing confident
	for _, photo := range []string{"images_skimage/clock_motion.png", "images_skimage/text.png"} {
		data, _ := os.ReadFile(visiontest.Photo(t, photo))
		res, err := clf.Classify(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		if res.Labels[0].Score > 0.8 {
			t.Errorf("%s: confident %+v", photo, res.Labels[0])
		}
	}
	if _, err := clf.Classify(ctx, []byte("not an image")); !errors.Is(err, vision.ErrImage) {
		t.Errorf("garbage: %v", err)
	}
}

// TestEvalSetGatesAVersion gives MobileNet an evaluation set of the shared photos: with
// a reachable accuracy threshold the version serves; a stand-in that always answers
// "tench" fails the same set and is refused, so the previous version keeps serving.
func TestEvalSetGatesAVersion(t *testing.T) {
	repo := t.TempDir()
	set := filepath.Join(t.TempDir(), "eval.csv")
	rows := "image,label\n"
	for photo, label := range map[string]string{"images_wonnx/bald_eagle.jpeg": "22", "images_wonnx/pelican.jpeg": "pelican",
		"images_skimage/coffee.png": "espresso", "images_skimage/camera.png": "872"} {
		rows += visiontest.Photo(t, photo) + "," + label + "\n"
	}
	os.WriteFile(set, []byte(rows), 0o644)
	eval := fmt.Sprintf("eval: {set: %s, min_accuracy: 0.75, max_p99_ms: 5000}\n", set)
	visiontest.MobileNet(t, repo, "imagenet", 1, eval)
	dir := visiontest.Constant(t, repo, "imagenet", 2, 0)
	f, _ := os.OpenFile(filepath.Join(dir, models.ManifestFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(eval)
	f.Close()
	r := registry(t, repo)
	list := r.List()
	if len(list) != 1 || len(list[0].Versions) != 2 {
		t.Fatalf("list %+v", list)
	}
	v1, v2 := list[0].Versions[0], list[0].Versions[1]
	if v1.Eval == nil || v1.Eval.Accuracy < 0.75 || v1.Eval.N != 4 || !slices.Contains(v1.Roles, "active") {
		t.Errorf("version 1: %+v (eval %+v)", v1, v1.Eval)
	}
	if v2.Error == "" || len(v2.Roles) != 0 {
		t.Errorf("version 2 (always tench) served: %+v", v2)
	}
	t.Logf("v1 eval %+v; v2 refused: %s", *v1.Eval, v2.Error)
}

// TestDecodeForScalesJPEGsWithTurboJPEG: with libjpeg-turbo a 1-megapixel JPEG is decoded
// straight to the smallest DCT scale that still covers the model's 256-pixel short side,
// and MobileNet sees the same thing as with the full-size Go decode.
func TestDecodeForScalesJPEGsWithTurboJPEG(t *testing.T) {
	if err := vision.TurboJPEG(); err != nil {
		if testenv.InCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	data, err := os.ReadFile(visiontest.Photo(t, "images_wonnx/bald_eagle.jpeg")) // 800×600
	if err != nil {
		t.Fatal(err)
	}
	img, format, err := vision.DecodeFor(data, vision.DefaultLimits(), 256)
	if err != nil || format != "jpeg" {
		t.Fatal(format, err)
	}
	// 600·4/8 = 300 ≥ 256 > 600·3/8 = 225
	if b := img.Bounds(); b.Dx() != 400 || b.Dy() != 300 {
		t.Fatalf("decoded at %v, want 400×300", b)
	}
	full, _, _ := vision.Decode(data, vision.DefaultLimits())
	pre := vision.Preprocess{ResizeShort: 256, Crop: 224, Mean: []float32{.485, .456, .406}, Std: []float32{.229, .224, .225}}
	a, _, _ := pre.Tensor(img)
	b, _, _ := pre.Tensor(full)
	var diff float64
	for i := range a {
		d := float64(a[i] - b[i])
		diff += d * d
	}
	if rms := diff / float64(len(a)); rms > 0.05 {
		t.Fatalf("scaled decode differs from the full one: mean squared difference %.4f", rms)
	}
	// the pixel limit is checked from the header, before decoding
	if _, _, err := vision.DecodeFor(data, vision.Limits{MaxPixels: 1000}, 256); !errors.Is(err, vision.ErrTooLarge) {
		t.Fatalf("limit: %v", err)
	}
	if _, _, err := vision.DecodeFor([]byte("\xff\xd8\xff garbage"), vision.DefaultLimits(), 256); !errors.Is(err, vision.ErrImage) {
		t.Fatalf("garbage JPEG: %v", err)
	}
}

// TestOpaqueRGBAFastPathMatchesGeneralPath: the direct sampling of upright opaque RGBA
// images gives the tensor the general grid path gives for the same pixels.
func TestOpaqueRGBAFastPathMatchesGeneralPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range [][2]int{{434, 325}, {300, 500}, {256, 256}, {230, 700}} {
		rgba := image.NewRGBA(image.Rect(0, 0, size[0], size[1]))
		for i := range rgba.Pix {
			rgba.Pix[i] = uint8(rng.IntN(256))
			if i%4 == 3 {
				rgba.Pix[i] = 255
			}
		}
		nrgba := &image.NRGBA{Pix: rgba.Pix, Stride: rgba.Stride, Rect: rgba.Rect} // same bytes, general path
		for _, pre := range []vision.Preprocess{
			{ResizeShort: 256, Crop: 224, Mean: []float32{.485, .456, .406}, Std: []float32{.229, .224, .225}},
			{ResizeShort: 256, Crop: 224, Color: "BGR", Layout: "NHWC"},
			{Crop: 224},
		} {
			fast, _, err := pre.Tensor(rgba)
			if err != nil {
				t.Fatal(err)
			}
			slow, _, _ := pre.Tensor(nrgba)
			for i := range fast {
				if d := fast[i] - slow[i]; d > 1e-4 || d < -1e-4 {
					t.Fatalf("%v %+v: value %d: fast %v, general %v", size, pre, i, fast[i], slow[i])
				}
			}
		}
	}
}
