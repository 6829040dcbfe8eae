package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	onnx "github.com/yalue/onnxruntime_go"
)

// ErrBadInput means Run was given inputs that do not fit the model.
var ErrBadInput = errors.New("ort: bad input")

// IOInfo describes one tensor input or output of a model. Dynamic dimensions are -1.
type IOInfo struct {
	Name  string
	Type  string // element type: "float32", "int64", …
	Shape []int64
}

// Tensor is a dense tensor held in a Go slice: Float32 or Int64, whichever matches the
// element type; the other is nil.
type Tensor struct {
	Shape   []int64
	Float32 []float32
	Int64   []int64
}

// Options tune a session. Zero values leave ONNX Runtime's defaults.
type Options struct {
	IntraOpThreads int
	InterOpThreads int
	// Config holds ONNX Runtime session configuration entries, for example
	// "session.intra_op.allow_spinning": "0" so that idle worker threads do not spin
	// on cores the gateway needs for decoding between runs.
	Config map[string]string
}

// Session is one loaded model. Run is safe for concurrent use; Close must not race with
// Run (the model registry drains a version before closing it).
type Session struct {
	path    string
	s       *onnx.DynamicAdvancedSession
	inputs  []IOInfo
	outputs []IOInfo
}

// Open loads the ONNX file at path (Init must have succeeded, or it is tried with the
// default library search).
func Open(path string, opts Options) (*Session, error) {
	if _, err := Init(""); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ort: open model: %w", err)
	}
	ins, outs, err := onnx.GetInputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("ort: read model %s: %w", path, err)
	}
	return newSession(path, ins, outs, opts, func(in, out []string, so *onnx.SessionOptions) (*onnx.DynamicAdvancedSession, error) {
		return onnx.NewDynamicAdvancedSession(path, in, out, so)
	})
}

// OpenData loads a model already read into memory (the model registry reads it through
// an os.Root on the version folder); name is what errors and Path call it. A model whose
// weights live in external data files cannot be loaded this way.
func OpenData(data []byte, name string, opts Options) (*Session, error) {
	if _, err := Init(""); err != nil {
		return nil, err
	}
	ins, outs, err := onnx.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("ort: read model %s: %w", name, err)
	}
	return newSession(name, ins, outs, opts, func(in, out []string, so *onnx.SessionOptions) (*onnx.DynamicAdvancedSession, error) {
		return onnx.NewDynamicAdvancedSessionWithONNXData(data, in, out, so)
	})
}

// newSession applies opts and creates the native session with create.
func newSession(name string, ins, outs []onnx.InputOutputInfo, opts Options,
	create func(in, out []string, so *onnx.SessionOptions) (*onnx.DynamicAdvancedSession, error)) (*Session, error) {
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("ort: session options: %w", err)
	}
	defer so.Destroy()
	if opts.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("ort: intra-op threads: %w", err)
		}
	}
	if opts.InterOpThreads > 0 {
		if err := so.SetInterOpNumThreads(opts.InterOpThreads); err != nil {
			return nil, fmt.Errorf("ort: inter-op threads: %w", err)
		}
	}
	for k, v := range opts.Config {
		if err := so.AddSessionConfigEntry(k, v); err != nil {
			return nil, fmt.Errorf("ort: session config %s=%s: %w", k, v, err)
		}
	}
	sess := &Session{path: name, inputs: infos(ins), outputs: infos(outs)}
	sess.s, err = create(names(sess.inputs), names(sess.outputs), so)
	if err != nil {
		return nil, fmt.Errorf("ort: load model %s: %w", name, err)
	}
	return sess, nil
}

func infos(in []onnx.InputOutputInfo) []IOInfo {
	out := make([]IOInfo, 0, len(in))
	for _, i := range in {
		out = append(out, IOInfo{Name: i.Name, Type: elemType(i.DataType), Shape: slices.Clone([]int64(i.Dimensions))})
	}
	return out
}

func names(in []IOInfo) []string {
	out := make([]string, len(in))
	for i, x := range in {
		out[i] = x.Name
	}
	return out
}

func elemType(t onnx.TensorElementDataType) string {
	switch t {
	case onnx.TensorElementDataTypeFloat:
		return "float32"
	case onnx.TensorElementDataTypeInt64:
		return "int64"
	case onnx.TensorElementDataTypeInt32:
		return "int32"
	case onnx.TensorElementDataTypeUint8:
		return "uint8"
	case onnx.TensorElementDataTypeInt8:
		return "int8"
	case onnx.TensorElementDataTypeDouble:
		return "float64"
	case onnx.TensorElementDataTypeString:
		return "string"
	}
	return t.String()
}

// Path is the file the session was loaded from.
func (s *Session) Path() string { return s.path }

// Inputs describes the model's inputs, in the model's order.
func (s *Session) Inputs() []IOInfo { return slices.Clone(s.inputs) }

// Outputs describes the model's outputs, in the model's order.
func (s *Session) Outputs() []IOInfo { return slices.Clone(s.outputs) }

// Close releases the native session.
func (s *Session) Close() error {
	if s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	s.s = nil
	return err
}

// Run feeds inputs (one per model input, by name) and returns every output by name. A
// cancelled ctx terminates a run in progress.
func (s *Session) Run(ctx context.Context, inputs map[string]Tensor) (map[string]Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.s == nil {
		return nil, errors.New("ort: session closed")
	}
	values := make([]onnx.Value, len(s.inputs))
	defer func() {
		for _, v := range values {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, info := range s.inputs {
		t, ok := inputs[info.Name]
		if !ok {
			return nil, fmt.Errorf("%w: missing input %q", ErrBadInput, info.Name)
		}
		v, err := newValue(info, t)
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("%w: model takes %d inputs, got %d", ErrBadInput, len(s.inputs), len(inputs))
	}
	outs := make([]onnx.Value, len(s.outputs))
	defer func() {
		for _, v := range outs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	var err error
	if ctx.Done() == nil {
		err = s.s.Run(values, outs)
	} else {
		err = s.runCancellable(ctx, values, outs)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("ort: run %s: %w", s.path, err)
	}
	result := make(map[string]Tensor, len(outs))
	for i, v := range outs {
		t, err := fromValue(v)
		if err != nil {
			return nil, fmt.Errorf("ort: output %q: %w", s.outputs[i].Name, err)
		}
		result[s.outputs[i].Name] = t
	}
	return result, nil
}

func (s *Session) runCancellable(ctx context.Context, values, outs []onnx.Value) error {
	ro, err := onnx.NewRunOptions()
	if err != nil {
		return fmt.Errorf("run options: %w", err)
	}
	defer ro.Destroy()
	stop := context.AfterFunc(ctx, func() { _ = ro.Terminate() })
	defer stop()
	return s.s.RunWithOptions(values, outs, ro)
}

func newValue(info IOInfo, t Tensor) (onnx.Value, error) {
	shape := onnx.NewShape(t.Shape...)
	if err := shape.Validate(); err != nil {
		return nil, fmt.Errorf("%w: input %q: %v", ErrBadInput, info.Name, err)
	}
	if len(info.Shape) != 0 && len(info.Shape) != len(t.Shape) {
		return nil, fmt.Errorf("%w: input %q has %d dimensions, want %d", ErrBadInput, info.Name, len(t.Shape), len(info.Shape))
	}
	for i, d := range info.Shape {
		if d > 0 && i < len(t.Shape) && t.Shape[i] != d {
			return nil, fmt.Errorf("%w: input %q dimension %d is %d, want %d", ErrBadInput, info.Name, i, t.Shape[i], d)
		}
	}
	n := shape.FlattenedSize()
	switch info.Type {
	case "float32":
		if int64(len(t.Float32)) != n {
			return nil, fmt.Errorf("%w: input %q wants %d float32 values, got %d", ErrBadInput, info.Name, n, len(t.Float32))
		}
		return onnx.NewTensor(shape, t.Float32)
	case "int64":
		if int64(len(t.Int64)) != n {
			return nil, fmt.Errorf("%w: input %q wants %d int64 values, got %d", ErrBadInput, info.Name, n, len(t.Int64))
		}
		return onnx.NewTensor(shape, t.Int64)
	}
	return nil, fmt.Errorf("%w: input %q has element type %s, which ort.Run does not feed", ErrBadInput, info.Name, info.Type)
}

func fromValue(v onnx.Value) (Tensor, error) {
	switch x := v.(type) {
	case *onnx.Tensor[float32]:
		return Tensor{Shape: slices.Clone([]int64(x.GetShape())), Float32: slices.Clone(x.GetData())}, nil
	case *onnx.Tensor[int64]:
		return Tensor{Shape: slices.Clone([]int64(x.GetShape())), Int64: slices.Clone(x.GetData())}, nil
	}
	return Tensor{}, fmt.Errorf("unsupported output value %T", v)
}
