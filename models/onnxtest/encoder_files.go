package onnxtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Special tokens of the BERT vocabulary WriteEncoder writes, with their ids.
const (
	PadID = 0
	UnkID = 1
	ClsID = 2
	SepID = 3
)

// WriteEncoder writes a BERT-style sentence encoder into dir: model.onnx (BertEncoder)
// and tokenizer.json (an uncased WordPiece tokenizer as Hugging Face exports it for
// bert-base-uncased: BertNormalizer with strip_accents null, BertPreTokenizer,
// [CLS] … [SEP] template). The vocabulary is the four special tokens followed by the keys
// of vectors in sorted order; each token's embedding row is its vector (all of one
// length), the special tokens' rows are zero. It returns the two paths.
func WriteEncoder(dir string, vectors map[string][]float32) (model, tokenizer string, err error) {
	words := make([]string, 0, len(vectors))
	dim := -1
	for w, v := range vectors {
		if dim >= 0 && len(v) != dim {
			return "", "", fmt.Errorf("onnxtest: vector of %q has %d dimensions, others %d", w, len(v), dim)
		}
		dim = len(v)
		words = append(words, w)
	}
	if dim <= 0 {
		return "", "", fmt.Errorf("onnxtest: no vectors")
	}
	sort.Strings(words)
	vocab := append([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]"}, words...)
	rows := make([]float32, len(vocab)*dim)
	for i, w := range words {
		copy(rows[(i+4)*dim:], vectors[w])
	}
	model = filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(model, BertEncoder(rows, len(vocab), make([]float32, 2*dim), 2, dim), 0o644); err != nil {
		return "", "", err
	}
	tokenizer = filepath.Join(dir, "tokenizer.json")
	if err := os.WriteFile(tokenizer, BertTokenizerJSON(vocab), 0o644); err != nil {
		return "", "", err
	}
	return model, tokenizer, nil
}

// BertTokenizerJSON is a tokenizer.json for an uncased WordPiece vocabulary whose first
// four entries are [PAD], [UNK], [CLS] and [SEP].
func BertTokenizerJSON(vocab []string) []byte {
	ids := make(map[string]int, len(vocab))
	for i, w := range vocab {
		ids[w] = i
	}
	special := func(id int, content string) map[string]any {
		return map[string]any{"id": id, "content": content, "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": true}
	}
	tok := func(name string, typeID int) map[string]any {
		return map[string]any{"SpecialToken": map[string]any{"id": name, "type_id": typeID}}
	}
	seq := func(name string, typeID int) map[string]any {
		return map[string]any{"Sequence": map[string]any{"id": name, "type_id": typeID}}
	}
	doc := map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []any{special(PadID, "[PAD]"), special(UnkID, "[UNK]"),
			special(ClsID, "[CLS]"), special(SepID, "[SEP]")},
		"normalizer": map[string]any{"type": "BertNormalizer", "clean_text": true,
			"handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{
			"type":   "TemplateProcessing",
			"single": []any{tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0)},
			"pair":   []any{tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0), seq("B", 1), tok("[SEP]", 1)},
			"special_tokens": map[string]any{
				"[CLS]": map[string]any{"id": "[CLS]", "ids": []int{ClsID}, "tokens": []string{"[CLS]"}},
				"[SEP]": map[string]any{"id": "[SEP]", "ids": []int{SepID}, "tokens": []string{"[SEP]"}},
			},
		},
		"decoder": map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": ids},
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		panic(err)
	}
	return b
}
