// Package vosk is the Kaldi speech engine of asr through libvosk.so (the build shipped in
// the npm package vosk 0.3.39; scripts/fetch-vosk.sh puts it in .deps/vosk), loaded with
// dlopen at run time so that the binary builds and runs without it. A model is a folder
// as alphacephei.com/vosk/models publishes them.
//
// libvosk 0.3.39 crashes when given a NULL model, and Kaldi can abort or crash on a bad
// one, so no path reaches vosk_model_new before CheckModel found the files Vosk needs and
// a forked child process loaded it; every pointer libvosk returns is checked. A missing library or model is
// asr.ErrUnavailable. The model is loaded once and shared by all recognizers; each stream
// gets its own Kaldi recognizer so word times start at zero, as in vosk-server.
package vosk
