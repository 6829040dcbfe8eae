// Package onnxtest writes small ONNX models for tests: a graph builder over the ONNX
// protobuf wire format, and ready-made graphs with the input and output names of real
// models (a BERT-style sentence encoder, an image classifier). Real exported models are
// large and, for text encoders, not obtainable on a closed network; these graphs exercise
// the same code paths through ONNX Runtime with weights a test chooses and can predict.
package onnxtest

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Element types (TensorProto.DataType).
const (
	Float = 1
	Int64 = 7
)

// Graph collects the parts of one ONNX graph.
type Graph struct {
	Name    string
	nodes   [][]byte
	inits   [][]byte
	inputs  [][]byte
	outputs [][]byte
}

// Attr is one encoded node attribute.
type Attr []byte

// Input declares a graph input; each dim is an int (fixed) or a string (symbolic).
func (g *Graph) Input(name string, elem int, dims ...any) {
	g.inputs = append(g.inputs, valueInfo(name, elem, dims))
}

// Output declares a graph output; each dim is an int (fixed) or a string (symbolic).
func (g *Graph) Output(name string, elem int, dims ...any) {
	g.outputs = append(g.outputs, valueInfo(name, elem, dims))
}

// Float32 adds a float initializer (a constant weight) of the given shape.
func (g *Graph) Float32(name string, dims []int64, data []float32) {
	raw := make([]byte, 4*len(data))
	for i, f := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	g.inits = append(g.inits, tensor(name, Float, dims, raw))
}

// Int64s adds an int64 initializer of the given shape.
func (g *Graph) Int64s(name string, dims []int64, data []int64) {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	g.inits = append(g.inits, tensor(name, Int64, dims, raw))
}

// Node adds an operator from the default domain.
func (g *Graph) Node(op string, inputs, outputs []string, attrs ...Attr) {
	var b []byte
	for _, in := range inputs {
		b = appendString(b, 1, in)
	}
	for _, out := range outputs {
		b = appendString(b, 2, out)
	}
	b = appendString(b, 3, op+"_"+outputs[0])
	b = appendString(b, 4, op)
	for _, a := range attrs {
		b = appendBytes(b, 5, a)
	}
	g.nodes = append(g.nodes, b)
}

// IntAttr is an INT attribute.
func IntAttr(name string, v int64) Attr {
	b := appendString(nil, 1, name)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(v))
	return appendVarint(b, 20, 2)
}

// IntsAttr is an INTS attribute.
func IntsAttr(name string, v ...int64) Attr {
	b := appendString(nil, 1, name)
	for _, x := range v {
		b = protowire.AppendTag(b, 8, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(x))
	}
	return appendVarint(b, 20, 7)
}

// Model encodes the graph as a model for ONNX opset `opset` (IR version 8).
func (g *Graph) Model(opset int64) []byte {
	var graph []byte
	for _, n := range g.nodes {
		graph = appendBytes(graph, 1, n)
	}
	graph = appendString(graph, 2, g.Name)
	for _, t := range g.inits {
		graph = appendBytes(graph, 5, t)
	}
	for _, v := range g.inputs {
		graph = appendBytes(graph, 11, v)
	}
	for _, v := range g.outputs {
		graph = appendBytes(graph, 12, v)
	}
	var m []byte
	m = appendVarint(m, 1, 8) // ir_version
	m = appendString(m, 2, "switchboard-onnxtest")
	m = appendBytes(m, 7, graph)
	opsetID := appendString(nil, 1, "")
	opsetID = appendVarint(opsetID, 2, uint64(opset))
	m = appendBytes(m, 8, opsetID)
	return m
}

func valueInfo(name string, elem int, dims []any) []byte {
	var shape []byte
	for _, d := range dims {
		var dim []byte
		switch x := d.(type) {
		case int:
			dim = appendVarint(nil, 1, uint64(x))
		case int64:
			dim = appendVarint(nil, 1, uint64(x))
		case string:
			dim = appendString(nil, 2, x)
		default:
			panic("onnxtest: a dim is an int or a string")
		}
		shape = appendBytes(shape, 1, dim)
	}
	tensorType := appendVarint(nil, 1, uint64(elem))
	tensorType = appendBytes(tensorType, 2, shape)
	typ := appendBytes(nil, 1, tensorType)
	v := appendString(nil, 1, name)
	return appendBytes(v, 2, typ)
}

func tensor(name string, elem int, dims []int64, raw []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = appendVarint(b, 1, uint64(d))
	}
	b = appendVarint(b, 2, uint64(elem))
	b = appendString(b, 8, name)
	return appendBytes(b, 9, raw)
}

func appendVarint(b []byte, field protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendBytes(b []byte, field protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}
