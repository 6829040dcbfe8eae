// Package nlp is language understanding in the middle of the message flow: after the
// channel adapters and the asr/vision stages have turned a customer message into text,
// the pipeline's redact stage (subpackage pii) removes personal data before anything is
// persisted, and the understand stage detects language, intent, sentiment and whether the
// customer wants a human. Packages under nlp compute; they never persist anything.
//
// Subpackages:
//   - pii: detectors with validators and typed, numbered placeholders ([PHONE_1]); the
//     redaction the pipeline runs fail-closed; evaluation on public PII corpora.
//   - lang: zh/en detection by script.
//   - intent: learned text classifiers (word + character TF-IDF, softmax): intents,
//     and the bilingual "wants a human" / frustration model.
//   - match: question-pair matching (is B the same question as A), for Chinese and English.
//   - quality: quality inspection (智能质检) of agents' replies: rules per skill group
//     (greeting, closing, empathy, promises, rude and forbidden wording, personal data
//     typed out, length), scored, with an evaluation against a labelled set.
//   - embed: the dense text encoder of the knowledge base when one is configured (a
//     BERT-style ONNX sentence encoder with its tokenizer.json, run through models/ort).
package nlp
