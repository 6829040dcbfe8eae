// Package intent is the learned part of the understand stage in the message flow: after
// the redact stage has removed personal data and package lang has detected the language,
// a [Classifier] assigns the redacted text an intent, and the model from
// [EscalationModel] tells whether the customer wants a human or is frustrated, in
// Chinese and English. The respond and escalate stages act on those labels.
//
// A Classifier is multinomial logistic regression (softmax, trained with a fixed margin
// on the wrong labels) fitted with SGD on labelled examples — no external model. Features are word unigrams and bigrams
// (lower-cased, Unicode-aware; CJK text is split into characters, so its "words" are
// character unigrams and bigrams) and character 2–5-grams inside non-CJK words, weighted
// by sublinear TF-IDF, with the word block and the character block each L2-normalised
// (unseen terms count in the norm, so mostly unknown text gets a low confidence).
// Training is deterministic for a given seed. [Prediction.Confidence] is the softmax
// probability; a threshold on it rejects out-of-scope queries (see [SweepOOS]).
//
// Evaluation helpers read BANKING77 and CLINC150 from the shared data directory and
// report accuracy and an out-of-scope threshold sweep; `switchboard kb eval` uses them.
package intent
