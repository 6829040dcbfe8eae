package onnxtest

// BertEncoder is a sentence-encoder graph with the inputs and output of a Hugging Face
// BERT export (input_ids, attention_mask, token_type_ids, all int64 [batch, sequence] →
// last_hidden_state float [batch, sequence, dim]). Its "transformer" is the embedding
// layer alone: the hidden state of a token is words[id] + types[type id], zeroed where
// attention_mask is 0; so a mean-pooled sentence vector is predictable from the rows.
// words is vocabulary × dim, row-major; types is typeVocab × dim.
func BertEncoder(words []float32, vocab int, types []float32, typeVocab, dim int) []byte {
	g := &Graph{Name: "bert_embeddings"}
	g.Input("input_ids", Int64, "batch", "sequence")
	g.Input("attention_mask", Int64, "batch", "sequence")
	g.Input("token_type_ids", Int64, "batch", "sequence")
	g.Output("last_hidden_state", Float, "batch", "sequence", dim)
	g.Float32("word_embeddings", []int64{int64(vocab), int64(dim)}, words)
	g.Float32("token_type_embeddings", []int64{int64(typeVocab), int64(dim)}, types)
	g.Int64s("unsqueeze_axes", []int64{1}, []int64{2})
	g.Node("Gather", []string{"word_embeddings", "input_ids"}, []string{"word_vectors"}, IntAttr("axis", 0))
	g.Node("Gather", []string{"token_type_embeddings", "token_type_ids"}, []string{"type_vectors"}, IntAttr("axis", 0))
	g.Node("Add", []string{"word_vectors", "type_vectors"}, []string{"embedded"})
	g.Node("Cast", []string{"attention_mask"}, []string{"mask_float"}, IntAttr("to", Float))
	g.Node("Unsqueeze", []string{"mask_float", "unsqueeze_axes"}, []string{"mask_3d"})
	g.Node("Mul", []string{"embedded", "mask_3d"}, []string{"last_hidden_state"})
	return g.Model(13)
}

// Offset is a classifier-shaped graph: input "input" float [batch, n] → output "output"
// float [batch, n] = input + bias. Tests give each model version its own bias, so every
// answer shows which version computed it, and rows show that batching kept requests
// apart. batch is the first dimension: -1 for a dynamic batch axis.
func Offset(n int, bias []float32, batch int) []byte {
	g := &Graph{Name: "offset"}
	var dim any = batch
	if batch < 0 {
		dim = "batch"
	}
	g.Input("input", Float, dim, n)
	g.Output("output", Float, dim, n)
	g.Float32("bias", []int64{int64(n)}, bias)
	g.Node("Add", []string{"input", "bias"}, []string{"output"})
	return g.Model(13)
}

// ConstantClassifier has an image classifier's interface (input "input" float
// [batch, 3, size, size], output "output" float [batch, classes]) and answers class top
// for every image (its logit 10, the others 0, plus a millionth of the image mean so the
// input is really read). Tests use it as a version whose answers are recognisable.
func ConstantClassifier(size, classes, top int) []byte {
	g := &Graph{Name: "constant_classifier"}
	g.Input("input", Float, "batch", 3, size, size)
	g.Output("output", Float, "batch", classes)
	w := make([]float32, classes)
	b := make([]float32, classes)
	for i := range w {
		w[i] = 1e-6
	}
	b[top] = 10
	g.Float32("weights", []int64{1, int64(classes)}, w)
	g.Float32("bias", []int64{int64(classes)}, b)
	g.Int64s("flat", []int64{2}, []int64{-1, 1})
	g.Node("ReduceMean", []string{"input"}, []string{"mean"}, IntsAttr("axes", 1, 2, 3), IntAttr("keepdims", 1))
	g.Node("Reshape", []string{"mean", "flat"}, []string{"mean_2d"})
	g.Node("MatMul", []string{"mean_2d", "weights"}, []string{"scores"})
	g.Node("Add", []string{"scores", "bias"}, []string{"output"})
	return g.Model(13)
}
