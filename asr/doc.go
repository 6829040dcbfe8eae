// Package asr is the speech stage of the message flow, on the audio parts of a turn: it
// turns voice notes and live audio into text before the text is redacted like any other
// customer message. It knows nothing of tickets or HTTP.
//
// This package holds the engine contract and what every engine shares:
//
//   - Engine, loaded once per language (library + model), makes Recognizers; a
//     Recognizer is one streaming decoding session (Accept chunks of 16 kHz mono int16
//     PCM, read partial text and utterance results, then Final).
//   - Pool keeps a bounded number of recognizers per engine with a bounded wait queue:
//     a caller that cannot get one within the queue timeout gets ErrBusy (→ 429), so
//     memory never grows with load.
//   - WER scores a transcript against a reference (word error rate).
//
// Engines live in subpackages and load their native libraries at run time, so the binary
// builds and serves without them: asr/pocketsphinx (CMU PocketSphinx from the OS packages
// with its US-English model) and asr/vosk (Kaldi models through libvosk.so). A missing
// library or model is ErrUnavailable, which callers report as degraded (503), never a
// crash. Audio decoding and resampling to 16 kHz is asr/audio.
package asr
