// Package embed is the dense text embedding of the knowledge base when one is configured:
// a BERT-style sentence encoder exported to ONNX (inputs input_ids, attention_mask and
// optionally token_type_ids; output last_hidden_state, mean-pooled over the attention
// mask, or a ready [batch, dim] sentence embedding) with its Hugging Face tokenizer.json.
// The model runs through models/ort; vectors come out L2-normalised, so cosine
// similarity is a dot product. Without a configured encoder the knowledge base is
// lexical only (kb.LexicalEmbedder).
package embed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/switchboard-cs/switchboard/models/ort"
)

// ErrModel means the ONNX file does not look like a sentence encoder.
var ErrModel = errors.New("embed: not a usable sentence encoder")

// Config names an encoder's files.
type Config struct {
	Model     string // the .onnx file
	Tokenizer string // tokenizer.json
	// MaxTokens caps the tokens per text, special tokens included (default 256).
	MaxTokens int
	// Pooling is "mean" (default: average of the token vectors under the attention
	// mask, as sentence-transformers does) or "cls" (the first token's vector).
	Pooling string
	// Threads is ONNX Runtime's intra-op thread count (0: its default).
	Threads int
}

// Encoder embeds text; it is safe for concurrent use.
type Encoder struct {
	tok         *Tokenizer
	sess        *ort.Session
	cfg         Config
	output      string
	pooled      bool // the output is already [batch, dim]
	inputs      map[string]bool
	dim         int
	fingerprint string
}

// Open loads the tokenizer and the model and checks, by encoding a probe text, that the
// model takes BERT's inputs and yields one vector per text.
func Open(ctx context.Context, cfg Config) (*Encoder, error) {
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = 256
	}
	if cfg.MaxTokens < 2 {
		return nil, fmt.Errorf("embed: max tokens %d: want at least 2", cfg.MaxTokens)
	}
	switch cfg.Pooling {
	case "":
		cfg.Pooling = "mean"
	case "mean", "cls":
	default:
		return nil, fmt.Errorf("embed: pooling %q: want mean or cls", cfg.Pooling)
	}
	tok, err := LoadTokenizer(cfg.Tokenizer)
	if err != nil {
		return nil, err
	}
	fp, err := fingerprint(cfg.Model, cfg.Tokenizer)
	if err != nil {
		return nil, err
	}
	sess, err := ort.Open(cfg.Model, ort.Options{IntraOpThreads: cfg.Threads})
	if err != nil {
		return nil, err
	}
	e := &Encoder{tok: tok, sess: sess, cfg: cfg, inputs: map[string]bool{}}
	if err := e.bind(); err != nil {
		sess.Close()
		return nil, err
	}
	v, err := e.Encode(ctx, "probe")
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("%w: %s: probe encoding failed: %v", ErrModel, cfg.Model, err)
	}
	e.dim = len(v)
	e.fingerprint = fmt.Sprintf("%s/%s/%d", fp, cfg.Pooling, cfg.MaxTokens)
	return e, nil
}

// bind checks the model's inputs and picks its output.
func (e *Encoder) bind() error {
	for _, in := range e.sess.Inputs() {
		switch in.Name {
		case "input_ids", "attention_mask", "token_type_ids":
			if in.Type != "int64" || len(in.Shape) != 2 {
				return fmt.Errorf("%w: input %s is %s of rank %d, want int64 [batch, sequence]", ErrModel, in.Name, in.Type, len(in.Shape))
			}
			e.inputs[in.Name] = true
		default:
			return fmt.Errorf("%w: unknown input %q (want input_ids, attention_mask, token_type_ids)", ErrModel, in.Name)
		}
	}
	if !e.inputs["input_ids"] {
		return fmt.Errorf("%w: no input_ids input", ErrModel)
	}
	outs := e.sess.Outputs()
	pick := func(name string, rank int) bool {
		for _, o := range outs {
			if o.Name == name && len(o.Shape) == rank && o.Type == "float32" {
				e.output, e.pooled = o.Name, rank == 2
				return true
			}
		}
		return false
	}
	if pick("sentence_embedding", 2) || pick("last_hidden_state", 3) || pick("token_embeddings", 3) {
		return nil
	}
	if len(outs) > 0 && outs[0].Type == "float32" && (len(outs[0].Shape) == 2 || len(outs[0].Shape) == 3) {
		e.output, e.pooled = outs[0].Name, len(outs[0].Shape) == 2
		return nil
	}
	return fmt.Errorf("%w: no float output of shape [batch, sequence, dim] or [batch, dim]", ErrModel)
}

// Dim is the embedding dimension.
func (e *Encoder) Dim() int { return e.dim }

// Fingerprint identifies the model, tokenizer and pooling; vectors from encoders with
// different fingerprints are not comparable.
func (e *Encoder) Fingerprint() string { return e.fingerprint }

// Close releases the model.
func (e *Encoder) Close() error { return e.sess.Close() }

// Encode embeds one text.
func (e *Encoder) Encode(ctx context.Context, text string) ([]float32, error) {
	vs, err := e.EncodeBatch(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// EncodeBatch embeds texts in one model run, padding them to the longest.
func (e *Encoder) EncodeBatch(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return nil, nil
	}
	toks := make([]Tokens, len(texts))
	seq := 0
	for i, t := range texts {
		tk, err := e.tok.Encode(t, e.cfg.MaxTokens)
		if err != nil {
			return nil, err
		}
		toks[i] = tk
		seq = max(seq, len(tk.IDs))
	}
	n := len(texts) * seq
	ids, mask, types := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, tk := range toks {
		copy(ids[i*seq:], tk.IDs)
		copy(types[i*seq:], tk.Types)
		for j := range tk.IDs {
			mask[i*seq+j] = 1
		}
	}
	shape := []int64{int64(len(texts)), int64(seq)}
	in := map[string]ort.Tensor{"input_ids": {Shape: shape, Int64: ids}}
	if e.inputs["attention_mask"] {
		in["attention_mask"] = ort.Tensor{Shape: shape, Int64: mask}
	}
	if e.inputs["token_type_ids"] {
		in["token_type_ids"] = ort.Tensor{Shape: shape, Int64: types}
	}
	out, err := e.sess.Run(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	return e.pool(out[e.output], toks, seq)
}

// pool turns the model output into one normalised vector per text.
func (e *Encoder) pool(t ort.Tensor, toks []Tokens, seq int) ([][]float32, error) {
	b := len(toks)
	vecs := make([][]float32, b)
	if e.pooled {
		if len(t.Shape) != 2 || t.Shape[0] != int64(b) {
			return nil, fmt.Errorf("%w: output shape %v for %d texts", ErrModel, t.Shape, b)
		}
		d := int(t.Shape[1])
		for i := range vecs {
			vecs[i] = normalize(append([]float32(nil), t.Float32[i*d:(i+1)*d]...))
		}
		return vecs, nil
	}
	if len(t.Shape) != 3 || t.Shape[0] != int64(b) || t.Shape[1] != int64(seq) {
		return nil, fmt.Errorf("%w: output shape %v for %d texts of %d tokens", ErrModel, t.Shape, b, seq)
	}
	d := int(t.Shape[2])
	for i, tk := range toks {
		v := make([]float32, d)
		rows := len(tk.IDs)
		if e.cfg.Pooling == "cls" {
			rows = min(rows, 1)
		}
		for j := range rows {
			row := t.Float32[(i*seq+j)*d : (i*seq+j+1)*d]
			for k, x := range row {
				v[k] += x
			}
		}
		if rows > 0 {
			for k := range v {
				v[k] /= float32(rows)
			}
		}
		vecs[i] = normalize(v)
	}
	return vecs, nil
}

func normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return v
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
	return v
}

// fingerprint hashes the model and tokenizer files.
func fingerprint(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("embed: %w", err)
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("embed: read %s: %w", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
