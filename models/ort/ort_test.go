package ort_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/models/ort"
)

// encoderModel writes the onnxtest BERT-style graph with vocabulary 4, dimension 2.
func encoderModel(t *testing.T) string {
	t.Helper()
	words := []float32{0, 0, 1, 2, 3, 4, 5, 6}
	types := []float32{0.5, 0.25}
	p := filepath.Join(t.TempDir(), "encoder.onnx")
	if err := os.WriteFile(p, onnxtest.BertEncoder(words, 4, types, 1, 2), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSessionRunsABertStyleGraph(t *testing.T) {
	lib := onnxtest.ORT(t)
	if ort.Version() == "" {
		t.Fatalf("no version after loading %s", lib)
	}
	s, err := ort.Open(encoderModel(t), ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantIn := []ort.IOInfo{
		{Name: "input_ids", Type: "int64", Shape: []int64{-1, -1}},
		{Name: "attention_mask", Type: "int64", Shape: []int64{-1, -1}},
		{Name: "token_type_ids", Type: "int64", Shape: []int64{-1, -1}},
	}
	if d := cmp.Diff(wantIn, s.Inputs()); d != "" {
		t.Errorf("inputs (-want +got):\n%s", d)
	}
	out, err := s.Run(context.Background(), map[string]ort.Tensor{
		"input_ids":      {Shape: []int64{1, 3}, Int64: []int64{1, 3, 0}},
		"attention_mask": {Shape: []int64{1, 3}, Int64: []int64{1, 1, 0}},
		"token_type_ids": {Shape: []int64{1, 3}, Int64: []int64{0, 0, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// rows 1 and 3 plus the type row; the masked third position is zero
	want := map[string]ort.Tensor{"last_hidden_state": {Shape: []int64{1, 3, 2}, Float32: []float32{1.5, 2.25, 5.5, 6.25, 0, 0}}}
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
}

func TestSessionRejectsBadInput(t *testing.T) {
	onnxtest.ORT(t)
	s, err := ort.Open(encoderModel(t), ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ok := ort.Tensor{Shape: []int64{1, 2}, Int64: []int64{1, 2}}
	for name, in := range map[string]map[string]ort.Tensor{
		"missing input": {"input_ids": ok, "attention_mask": ok},
		"short data":    {"input_ids": {Shape: []int64{1, 3}, Int64: []int64{1}}, "attention_mask": ok, "token_type_ids": ok},
		"wrong rank":    {"input_ids": {Shape: []int64{2}, Int64: []int64{1, 2}}, "attention_mask": ok, "token_type_ids": ok},
		"wrong type":    {"input_ids": {Shape: []int64{1, 2}, Float32: []float32{1, 2}}, "attention_mask": ok, "token_type_ids": ok},
	} {
		if _, err := s.Run(context.Background(), in); !errors.Is(err, ort.ErrBadInput) {
			t.Errorf("%s: err = %v, want ErrBadInput", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	full := map[string]ort.Tensor{"input_ids": ok, "attention_mask": ok, "token_type_ids": ok}
	if _, err := s.Run(ctx, full); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: err = %v", err)
	}
	// an id past the vocabulary is the model's own error, not a crash
	if _, err := s.Run(context.Background(), map[string]ort.Tensor{
		"input_ids": {Shape: []int64{1, 2}, Int64: []int64{1, 99}}, "attention_mask": ok, "token_type_ids": ok,
	}); err == nil {
		t.Error("out-of-vocabulary id: no error")
	}
}

func TestOpenMissingFile(t *testing.T) {
	onnxtest.ORT(t)
	if _, err := ort.Open(filepath.Join(t.TempDir(), "nope.onnx"), ort.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want not-exist", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.onnx")
	os.WriteFile(bad, []byte("not a model"), 0o644)
	if _, err := ort.Open(bad, ort.Options{}); err == nil {
		t.Error("garbage file opened")
	}
}

func TestFindLibraryExplicitMustExist(t *testing.T) {
	if _, err := ort.FindLibrary(filepath.Join(t.TempDir(), "libonnxruntime.so")); !errors.Is(err, ort.ErrNoRuntime) {
		t.Errorf("err = %v, want ErrNoRuntime", err)
	}
}

// TestFixedSessionAgreesWithSession: the benchmark's floor computes what Session does.
func TestFixedSessionAgreesWithSession(t *testing.T) {
	onnxtest.ORT(t)
	p := filepath.Join(t.TempDir(), "offset.onnx")
	if err := os.WriteFile(p, onnxtest.Offset(3, []float32{1, 2, 3}, -1), 0o644); err != nil {
		t.Fatal(err)
	}
	in := []float32{10, 20, 30, 40, 50, 60}
	f, err := ort.OpenFixed(p, "input", []int64{2, 3}, in, "output", []int64{2, 3}, ort.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Run(); err != nil {
		t.Fatal(err)
	}
	s, err := ort.Open(p, ort.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Run(context.Background(), map[string]ort.Tensor{"input": {Shape: []int64{2, 3}, Float32: in}})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{11, 22, 33, 41, 52, 63}
	if d := cmp.Diff(want, f.Output()); d != "" {
		t.Errorf("fixed session (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, out["output"].Float32); d != "" {
		t.Errorf("session (-want +got):\n%s", d)
	}
	// an input the model lacks fails when opening or, at the latest, when running
	if bad, err := ort.OpenFixed(p, "nope", []int64{2, 3}, in, "output", []int64{2, 3}, ort.Options{}); err == nil {
		defer bad.Close()
		if err := bad.Run(); err == nil {
			t.Error("ran with an input the model lacks")
		}
	}
}
