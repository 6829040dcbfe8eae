// Package match scores whether two customer questions mean the same thing. It is the
// knowledge base's Chinese reranker: `switchboard kb train` fits it on every
// question-matching pair found ([LoadAll]) and saves it ([Matcher.Save]), and the
// retriever adds its probability to the scores of the answers it considers for a Chinese
// question (kb.WithReranker). It also gives the Chinese question-matching figures of
// `switchboard kb eval`.
//
// [IDF] turns a pair of texts into a small vector of lexical similarity features
// (character unigram and bigram TF-IDF cosines, Jaccard overlaps, BM25 in both
// directions, length, edit-distance and common-substring ratios, number and negation
// agreement). A [Matcher] combines those features — each also cut into quantile bins —
// with hashed indicators of the characters and bigrams the two texts do not share (and
// of the characters they do share), in a logistic regression fitted with deterministic
// AdaGrad SGD on labelled pairs. The decision
// threshold is chosen for accuracy on out-of-fold scores of the fitting pairs, so it is
// never tuned on the model's own training predictions.
//
// Text is normalised (full-width forms folded, lower-cased) and split into units: one
// unit per CJK character, one per run of Latin letters and one per run of digits, so the
// same code handles Chinese and English questions.
//
// [LoadBQ], [LoadLCQMC] and [LoadATEC] read the BQ corpus, LCQMC and ATEC+CCKS splits of
// the shared data directory; [EvalAll] fits on each set's dev split and reports accuracy
// on its test split.
package match
