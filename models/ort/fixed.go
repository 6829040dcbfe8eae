package ort

import (
	"errors"
	"fmt"
	"slices"

	onnx "github.com/yalue/onnxruntime_go"
)

// FixedSession runs a model with one float32 input and one float32 output whose tensors
// are allocated once, as a caller of onnxruntime_go would write it by hand: the floor a
// benchmark measures Session (and everything above it) against. Not safe for concurrent
// use.
type FixedSession struct {
	s   *onnx.AdvancedSession
	in  *onnx.Tensor[float32]
	out *onnx.Tensor[float32]
}

// OpenFixed loads the ONNX file at path with input (holding data, of inShape) and output
// (of outShape) bound once. Init must have succeeded.
func OpenFixed(path string, input string, inShape []int64, data []float32, output string, outShape []int64, opts Options) (*FixedSession, error) {
	in, err := onnx.NewTensor(onnx.NewShape(inShape...), slices.Clone(data))
	if err != nil {
		return nil, fmt.Errorf("ort: input tensor: %w", err)
	}
	out, err := onnx.NewEmptyTensor[float32](onnx.NewShape(outShape...))
	if err != nil {
		in.Destroy()
		return nil, fmt.Errorf("ort: output tensor: %w", err)
	}
	so, err := onnx.NewSessionOptions()
	if err != nil {
		in.Destroy()
		out.Destroy()
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	defer so.Destroy()
	if opts.IntraOpThreads > 0 {
		_ = so.SetIntraOpNumThreads(opts.IntraOpThreads)
	}
	if opts.InterOpThreads > 0 {
		_ = so.SetInterOpNumThreads(opts.InterOpThreads)
	}
	for k, v := range opts.Config {
		if err := so.AddSessionConfigEntry(k, v); err != nil {
			in.Destroy()
			out.Destroy()
			return nil, fmt.Errorf("ort: session config %s: %w", k, err)
		}
	}
	s, err := onnx.NewAdvancedSession(path, []string{input}, []string{output}, []onnx.Value{in}, []onnx.Value{out}, so)
	if err != nil {
		in.Destroy()
		out.Destroy()
		return nil, fmt.Errorf("ort: open %s: %w", path, err)
	}
	return &FixedSession{s: s, in: in, out: out}, nil
}

// Run runs the model on the bound input into the bound output.
func (f *FixedSession) Run() error { return f.s.Run() }

// Output is the bound output's data (valid until Close).
func (f *FixedSession) Output() []float32 { return f.out.GetData() }

// Close releases the session and its tensors.
func (f *FixedSession) Close() error {
	return errors.Join(f.s.Destroy(), f.in.Destroy(), f.out.Destroy())
}
