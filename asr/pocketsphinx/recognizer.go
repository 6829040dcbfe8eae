package pocketsphinx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-cs/switchboard/asr"
)

// recognizer streams PCM into one decoder. Its endpointer ends an utterance at a pause
// after speech: Accept then returns the utterance's result and decoding goes on with a
// new utterance in the same stream (word times keep counting from the stream's start).
type recognizer struct {
	e     *Engine
	d     *decoder
	words bool
	ep    endpointer

	streaming bool  // a stream is open: utterances continue its time line
	started   bool  // an utterance is open in the decoder
	pos       int64 // samples of the stream fed so far
	uttStart  int64 // pos when the open utterance started

	rescore  bool    // decode each utterance again in one pass at its end
	utt      []int16 // the open utterance's audio, for the second pass
	overflow bool    // the utterance outgrew maxBatch: no second pass
}

func (r *recognizer) Accept(pcm []int16) (string, *asr.Result, error) {
	if r.d == nil {
		return "", nil, asr.ErrClosed
	}
	var final *asr.Result
	for len(pcm) > 0 {
		if !r.started {
			if !r.streaming {
				r.pos = 0
			}
			if err := r.d.start(!r.streaming); err != nil {
				return "", nil, err
			}
			r.streaming, r.started, r.uttStart = true, true, r.pos
		}
		n, ended := r.ep.next(pcm)
		if err := r.d.process(pcm[:n], false); err != nil {
			return "", nil, err
		}
		if r.rescore && !r.overflow {
			if len(r.utt)+n > maxBatch {
				r.utt, r.overflow = r.utt[:0], true
			} else {
				r.utt = append(r.utt, pcm[:n]...)
			}
		}
		pcm = pcm[n:]
		r.pos += int64(n)
		if !ended {
			continue
		}
		res, err := r.finish()
		if err != nil {
			return "", nil, err
		}
		if res.Text == "" {
			continue // a pause-only or noise-only stretch
		}
		if final == nil {
			final = &asr.Result{Engine: Name, Language: r.e.cfg.Language}
		}
		final.Append(res)
	}
	if final != nil {
		return "", final, nil
	}
	return r.partial(), nil, nil
}

func (r *recognizer) partial() string {
	if !r.started {
		return ""
	}
	return r.d.hyp()
}

// finish ends the open utterance and returns its result; the stream goes on.
func (r *recognizer) finish() (asr.Result, error) {
	r.started = false
	if err := r.d.end(); err != nil {
		return asr.Result{}, err
	}
	if utt := r.utt; len(utt) > 0 && !r.overflow {
		// The second pass: the whole utterance at once, normalized over all of it.
		if err := r.d.start(false); err != nil {
			return asr.Result{}, err
		}
		err := r.d.process(utt, true)
		if err := errors.Join(err, r.d.end()); err != nil {
			return asr.Result{}, err
		}
	}
	r.utt, r.overflow = r.utt[:0], false
	res := asr.Result{Text: strings.Join(strings.Fields(r.d.hyp()), " "), Engine: Name, Language: r.e.cfg.Language}
	if r.words {
		w, err := r.wordTimes()
		if err != nil {
			return asr.Result{}, err
		}
		res.Words = w
	}
	return res, nil
}

// wordTimes turns the best path's segments into words with times from the start of the
// stream, leaving out silence and noise fillers and alternate-pronunciation marks
// ("read(2)" → "read"). PocketSphinx numbers frames across the utterances of a stream but
// loses a few at each utterance start, so times are taken relative to the utterance's
// first segment (which starts at its first frame: <s> or a silence filler) and placed at
// the sample where the utterance started.
func (r *recognizer) wordTimes() ([]asr.Word, error) {
	segs, err := r.d.segments()
	if err != nil {
		return nil, err
	}
	frame := 1 / float64(r.e.frate)
	start := float64(r.uttStart) / asr.SampleRate
	base := 0
	if len(segs) > 0 {
		base = segs[0].startF
	}
	var out []asr.Word
	for _, s := range segs {
		w := s.word
		if w == "" || strings.ContainsAny(w[:1], "<[+") {
			continue
		}
		if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
			w = w[:i]
		}
		out = append(out, asr.Word{
			Word:  w,
			Start: start + float64(s.startF-base)*frame,
			End:   start + float64(s.endF+1-base)*frame,
			Conf:  min(max(s.posterior, 0), 1),
		})
	}
	return out, nil
}

func (r *recognizer) Final() (asr.Result, error) {
	if r.d == nil {
		return asr.Result{}, asr.ErrClosed
	}
	res := asr.Result{Engine: Name, Language: r.e.cfg.Language}
	var err error
	if r.started {
		res, err = r.finish()
	}
	r.streaming = false
	r.ep.reset()
	return res, err
}

func (r *recognizer) Reset() error {
	if r.d == nil {
		return asr.ErrClosed
	}
	r.streaming = false
	r.ep.reset()
	r.utt, r.overflow = r.utt[:0], false
	if !r.started {
		return nil
	}
	r.started = false
	if err := r.d.end(); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}

func (r *recognizer) Close() error {
	if r.d != nil {
		r.d.free()
		r.d = nil
	}
	return nil
}

// phraseGrammar builds a JSGF grammar accepting any sequence of the phrases (see
// asr.PhraseList); a phrase with a word the dictionary lacks is left out and returned in
// dropped.
func phraseGrammar(phrases []string, known func(string) bool) (jsgf string, dropped []string, err error) {
	alts, dropped := asr.PhraseList(phrases, known)
	if len(alts) == 0 {
		return "", dropped, fmt.Errorf("%w: %s: %v: %q", asr.ErrBadOptions, Name, errNoWords, dropped)
	}
	return "#JSGF V1.0;\ngrammar hints;\npublic <hints> = ( " + strings.Join(alts, " | ") + " )+ ;\n", dropped, nil
}

// maxBatch is the longest recording DecodeAll decodes as one utterance (beyond, the
// search's memory grows with the utterance and streaming is as good).
const maxBatch = 30 * asr.SampleRate

// DecodeAll decodes a complete recording. Up to 30 s it is one utterance processed at
// once, which lets PocketSphinx normalize the cepstra over all of it (batch CMN) instead
// of estimating the mean as it goes, and makes the result independent of chunking; short
// commands gain most (see TestWordErrorRate). Longer recordings are streamed.
func (r *recognizer) DecodeAll(ctx context.Context, pcm []int16) (asr.Result, error) {
	if err := r.Reset(); err != nil {
		return asr.Result{}, err
	}
	if len(pcm) > maxBatch {
		return r.stream(ctx, pcm)
	}
	if err := ctx.Err(); err != nil {
		return asr.Result{}, err
	}
	res := asr.Result{Engine: Name, Language: r.e.cfg.Language}
	if len(pcm) == 0 {
		return res, nil
	}
	if err := r.d.start(true); err != nil {
		return asr.Result{}, err
	}
	r.started, r.uttStart = true, 0
	if err := r.d.process(pcm, true); err != nil {
		return asr.Result{}, errors.Join(err, r.Reset())
	}
	return r.finish()
}

// stream decodes a long recording in chunks of half a second, checking ctx.
func (r *recognizer) stream(ctx context.Context, pcm []int16) (asr.Result, error) {
	out := asr.Result{Engine: Name, Language: r.e.cfg.Language}
	for off := 0; off < len(pcm); off += asr.SampleRate / 2 {
		if err := ctx.Err(); err != nil {
			return asr.Result{}, errors.Join(err, r.Reset())
		}
		_, fin, err := r.Accept(pcm[off:min(off+asr.SampleRate/2, len(pcm))])
		if err != nil {
			return asr.Result{}, errors.Join(err, r.Reset())
		}
		if fin != nil {
			out.Append(*fin)
		}
	}
	fin, err := r.Final()
	out.Append(fin)
	return out, err
}
