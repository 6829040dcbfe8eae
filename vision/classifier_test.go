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
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/vision"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

func registry(t *testing.T, repo string) *models.Registry {
	t.Helper()
	onnxtest.ORT(t)
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

// TestEvalSetGatesAVersion gives MobileNet an evaluation set of the shared photos, pushed
// with the version (the set's photos are copied with it): with a reachable accuracy
// threshold the version serves; a stand-in that always answers "tench" fails the same
// set and is refused, so the previous version keeps serving.
func TestEvalSetGatesAVersion(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	const eval = "eval: {set: eval/eval.csv, min_accuracy: 0.75, max_p99_ms: 5000}\n"
	src := visiontest.MobileNet(t, t.TempDir(), "imagenet", 1, eval)
	writeEvalSet(t, src)
	r := registry(t, repo)
	if p, err := r.Push(ctx, "imagenet", filepath.Join(src, models.ModelFile), filepath.Join(src, models.ManifestFile), nil); err != nil || p.Version != "1" {
		t.Fatalf("push: %+v %v", p, err)
	}
	dir := visiontest.Constant(t, repo, "imagenet", 2, 0)
	writeEvalSet(t, dir)
	f, _ := os.OpenFile(filepath.Join(dir, models.ManifestFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(eval)
	f.Close()
	if err := r.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
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

// writeEvalSet writes dir/eval/eval.csv over copies of four shared photos in dir/eval/photos.
func writeEvalSet(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "eval", "photos"), 0o755); err != nil {
		t.Fatal(err)
	}
	rows := "image,label\n"
	for photo, label := range map[string]string{"images_wonnx/bald_eagle.jpeg": "22", "images_wonnx/pelican.jpeg": "pelican",
		"images_skimage/coffee.png": "espresso", "images_skimage/camera.png": "872"} {
		data, err := os.ReadFile(visiontest.Photo(t, photo))
		if err != nil {
			t.Fatal(err)
		}
		name := "photos/" + filepath.Base(photo)
		if err := os.WriteFile(filepath.Join(dir, "eval", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		rows += name + "," + label + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "eval", "eval.csv"), []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
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

// memoryLog is a MemoryLimiter that records what is held and refuses beyond budget.
type memoryLog struct {
	budget, held, peak int64
	asked              []int64
}

func (m *memoryLog) Acquire(_ context.Context, n int64) (func(), error) {
	m.asked = append(m.asked, n)
	if m.held+n > m.budget {
		return nil, fmt.Errorf("no memory for %d bytes", n)
	}
	m.held += n
	m.peak = max(m.peak, m.held)
	return func() { m.held -= n }, nil
}

// TestClassifyHoldsTheDecodeCost: with Options.Memory, a photo's decode cost is held
// while it is decoded and released once its tensor is made; a photo that gets no memory
// is not decoded.
func TestClassifyHoldsTheDecodeCost(t *testing.T) {
	repo := t.TempDir()
	visiontest.MobileNet(t, repo, "imagenet", 1, "")
	mem := &memoryLog{budget: 64 << 20}
	clf := vision.NewClassifier(registry(t, repo), vision.Options{Model: "imagenet", TopK: 1, Memory: mem})
	data, err := os.ReadFile(visiontest.Photo(t, "images_skimage/chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := vision.DecodeCost(data, vision.DefaultLimits(), 256)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clf.Classify(context.Background(), data); err != nil {
		t.Fatal(err)
	}
	if len(mem.asked) != 1 || mem.asked[0] != want || mem.held != 0 {
		t.Fatalf("asked %v (want [%d]), %d still held", mem.asked, want, mem.held)
	}
	mem.budget = want - 1
	if _, err := clf.Classify(context.Background(), data); err == nil || !strings.Contains(err.Error(), "no memory") {
		t.Fatalf("a photo without memory for its decode: %v", err)
	}
}
