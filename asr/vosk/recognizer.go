package vosk

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchboard-cs/switchboard/asr"
)

// step is how many samples go into libvosk per call, so that a large chunk with several
// utterances yields all their results (libvosk reports only the endpoint of each call).
const step = asr.SampleRate / 2

// recognizer streams PCM into a Kaldi recognizer. Each stream gets a fresh Kaldi
// recognizer (made on the first Accept after Final or Reset), so word times always count
// from the start of the stream, as in vosk-server, which makes one per connection.
type recognizer struct {
	e       *Engine
	k       *kaldiRec // nil between streams
	grammar string
	words   bool
	closed  bool
}

func (r *recognizer) Accept(pcm []int16) (string, *asr.Result, error) {
	if r.closed {
		return "", nil, asr.ErrClosed
	}
	if r.k == nil {
		k, err := r.e.newKaldi(r.grammar, r.words)
		if err != nil {
			return "", nil, err
		}
		r.k = k
	}
	var final *asr.Result
	for off := 0; off < len(pcm); off += step {
		ended, err := r.k.accept(pcm[off:min(off+step, len(pcm))])
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", Name, err)
		}
		if !ended {
			continue
		}
		res, err := r.parse(r.k.result())
		if err != nil {
			return "", nil, err
		}
		if final == nil {
			final = &asr.Result{Engine: Name, Language: r.e.cfg.Language}
		}
		final.Append(res)
	}
	if final != nil {
		return "", final, nil
	}
	var p struct {
		Partial string `json:"partial"`
	}
	if err := json.Unmarshal([]byte(r.k.partial()), &p); err != nil {
		return "", nil, fmt.Errorf("%s: partial result: %w", Name, err)
	}
	return cleanText(p.Partial), nil, nil
}

// parse decodes a libvosk result: {"text": …, "result": [{"word","start","end","conf"}]}.
func (r *recognizer) parse(js string) (asr.Result, error) {
	var v struct {
		Text   string     `json:"text"`
		Result []asr.Word `json:"result"`
	}
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		return asr.Result{}, fmt.Errorf("%s: result: %w", Name, err)
	}
	res := asr.Result{Text: cleanText(v.Text), Engine: Name, Language: r.e.cfg.Language}
	if r.words {
		for _, w := range v.Result {
			if w.Word != unk {
				res.Words = append(res.Words, w)
			}
		}
	}
	return res, nil
}

// cleanText drops the grammar's [unk] markers.
func cleanText(s string) string {
	f := strings.Fields(s)
	out := f[:0]
	for _, w := range f {
		if w != unk {
			out = append(out, w)
		}
	}
	return strings.Join(out, " ")
}

func (r *recognizer) Final() (asr.Result, error) {
	if r.closed {
		return asr.Result{}, asr.ErrClosed
	}
	if r.k == nil {
		return asr.Result{Engine: Name, Language: r.e.cfg.Language}, nil
	}
	res, err := r.parse(r.k.final())
	r.k.free()
	r.k = nil
	return res, err
}

func (r *recognizer) Reset() error {
	if r.closed {
		return asr.ErrClosed
	}
	if r.k != nil {
		r.k.free()
		r.k = nil
	}
	return nil
}

func (r *recognizer) Close() error {
	if r.k != nil {
		r.k.free()
		r.k = nil
	}
	r.closed = true
	return nil
}
