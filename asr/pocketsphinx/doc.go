// Package pocketsphinx is the default speech engine of asr: CMU PocketSphinx as Debian
// and Ubuntu ship it (libpocketsphinx3 / libsphinxbase3 0.8+5prealpha, US-English model
// from pocketsphinx-en-us), loaded with dlopen at run time so that the binary builds and
// runs without it (New and Check then return asr.ErrUnavailable naming the packages).
//
// Each recognizer owns a decoder: free recognition with the n-gram language model, or a
// JSGF grammar (RecognizerOptions.Grammar, or one built from Phrases). Streams are
// decoded frame by frame with utterance ends found by an energy endpointer; whole
// recordings up to 30 s are decoded in one pass (asr.BatchDecoder).
//
// The library must not take the process down: model files are checked before loading,
// the model is first loaded in a forked child (a corrupt file can make PocketSphinx
// crash), and SphinxBase's fatal errors, which would call exit, are turned into errors by
// jumping out of its log callback.
package pocketsphinx
