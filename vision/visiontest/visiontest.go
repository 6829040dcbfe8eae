// Package visiontest builds model repositories for tests of the vision stage: the trained
// MobileNetV2 int8 classifier of the shared evaluation data, and recognisable stand-ins.
package visiontest

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
)

// Manifest is the manifest of MobileNetV2 (ImageNet preprocessing); extra is appended.
const Manifest = `task: image-classification
description: MobileNetV2 1.0 int8 (ONNX Model Zoo), ImageNet-1k
inputs:
  - {name: input, type: float32, shape: [-1, 3, 224, 224]}
outputs:
  - {name: output, type: float32, shape: [-1, 1000]}
labels: labels.txt
preprocess:
  resize_short: 256
  crop: 224
  mean: [0.485, 0.456, 0.406]
  std: [0.229, 0.224, 0.225]
`

// Photo is the path of an image of the shared data set ("images_wonnx/pelican.jpeg").
func Photo(t testing.TB, rel string) string {
	t.Helper()
	return testenv.SharedData(t, rel)
}

// MobileNet writes version ver of model name into repo: the shared MobileNetV2 int8
// file, the ImageNet labels and Manifest + extra.
func MobileNet(t testing.TB, repo, name string, ver int, extra string) string {
	t.Helper()
	model := testenv.SharedData(t, "onnx_mobilenetv2_12_int8/mobilenetv2-12-int8.onnx")
	labels := testenv.SharedData(t, "imagenet_labels/squeeze-labels.txt")
	return write(t, repo, name, ver, model, labels, Manifest+extra)
}

// Constant writes version ver of model name: a graph with MobileNet's interface that
// answers ImageNet class top for every image (see onnxtest.ConstantClassifier).
func Constant(t testing.TB, repo, name string, ver, top int) string {
	t.Helper()
	labels := testenv.SharedData(t, "imagenet_labels/squeeze-labels.txt")
	tmp := filepath.Join(t.TempDir(), "constant.onnx")
	if err := os.WriteFile(tmp, onnxtest.ConstantClassifier(224, 1000, top), 0o644); err != nil {
		t.Fatal(err)
	}
	return write(t, repo, name, ver, tmp, labels, Manifest)
}

func write(t testing.TB, repo, name string, ver int, model, labels, manifest string) string {
	t.Helper()
	dir := filepath.Join(repo, name, strconv.Itoa(ver))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{model: models.ModelFile, labels: "labels.txt"} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// the manifest last: a watcher never sees a version without its model
	if err := os.WriteFile(filepath.Join(dir, models.ManifestFile), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
