// Package para is Switchboard's own paraphrase encoder: the dense side of knowledge-base
// retrieval when no ONNX sentence encoder is configured. It is trained here, from public
// data, in about a minute and a half on two cores; no pretrained weights.
//
// A text's vector is the normalised, IDF-weighted sum of the vectors of its hashed
// features ([Features]: words, adjacent word pairs, character 3- to 5-grams of words, CJK
// characters and adjacent character pairs). [Train] learns the vectors of the features
// its texts contain from paraphrase groups ([Group]: the questions of one intent, the two
// questions of a matching pair, a WordNet synset's words and definition) by in-batch
// contrastive learning: each step draws groups of one [Set], two texts of each, and pulls
// each text towards its partner and away from the others' (and from hard negatives, the
// non-matching pairs of question-matching sets). A feature no training text had keeps a
// fixed pseudo-random vector derived from its hash, so texts sharing such words still
// match as they would lexically.
//
// [LoadCorpus] gathers the sets: WordNet from Debian's wordnet-base, BANKING77's and
// CLINC150's training splits, and ATEC, BQ, LCQMC and AFQMC pairs from the shared data.
// The few-shot evaluation of `switchboard kb eval` trains without the set it evaluates.
package para
