package embed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
	"golang.org/x/text/unicode/norm"
)

// Tokenizer turns text into model input ids with a Hugging Face tokenizer.json
// (WordPiece, BPE or Unigram models with their normalizers, pre-tokenizers and
// post-processors, through github.com/sugarme/tokenizer).
type Tokenizer struct {
	mu  sync.Mutex // the library keeps caches that are not safe for concurrent use
	tk  *tokenizer.Tokenizer
	nfd bool // strip accents as Hugging Face does: decompose (NFD) first
}

// Tokens are one text's input ids with their token types.
type Tokens struct {
	IDs   []int64
	Types []int64
}

// LoadTokenizer reads a tokenizer.json file.
func LoadTokenizer(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("embed: tokenizer: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("embed: tokenizer %s: not JSON: %w", path, err)
	}
	if m, ok := cfg["model"].(map[string]any); !ok || m["type"] == nil {
		return nil, fmt.Errorf("embed: tokenizer %s: no model section (want a Hugging Face tokenizer.json)", path)
	}
	// Hugging Face's BertNormalizer strips accents when strip_accents is null and
	// lowercase is on (bert-base-uncased and its descendants ship exactly that); the Go
	// port reads null as false, so make it explicit.
	nfd := false
	if n, ok := cfg["normalizer"].(map[string]any); ok && n["type"] == "BertNormalizer" {
		if n["strip_accents"] == nil {
			n["strip_accents"] = n["lowercase"] == true
		}
		nfd = n["strip_accents"] == true
	}
	fixed, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	tk, err := loadTokenizer(fixed)
	if err != nil {
		return nil, fmt.Errorf("embed: tokenizer %s: %w", path, err)
	}
	return &Tokenizer{tk: tk, nfd: nfd}, nil
}

// loadTokenizer turns the library's panics on unexpected configurations into errors.
func loadTokenizer(data []byte) (tk *tokenizer.Tokenizer, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unsupported configuration: %v", r)
		}
	}()
	return pretrained.FromReader(bytes.NewReader(data))
}

// Encode tokenizes text with the tokenizer's special tokens, keeping at most max tokens
// (the first max-1 and the closing special token) when max > 1.
func (t *Tokenizer) Encode(text string, max int) (tok Tokens, err error) {
	if t.nfd {
		text = norm.NFD.String(text)
	}
	t.mu.Lock()
	enc, err := func() (enc *tokenizer.Encoding, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("embed: tokenize: %v", r)
			}
		}()
		return t.tk.EncodeSingle(text, true)
	}()
	t.mu.Unlock()
	if err != nil {
		return Tokens{}, err
	}
	ids, types := enc.Ids, enc.TypeIds
	if max > 1 && len(ids) > max {
		ids = append(append([]int(nil), ids[:max-1]...), ids[len(ids)-1])
		types = append(append([]int(nil), types[:max-1]...), types[len(types)-1])
	}
	tok = Tokens{IDs: make([]int64, len(ids)), Types: make([]int64, len(ids))}
	for i := range ids {
		tok.IDs[i] = int64(ids[i])
		if i < len(types) {
			tok.Types[i] = int64(types[i])
		}
	}
	return tok, nil
}
