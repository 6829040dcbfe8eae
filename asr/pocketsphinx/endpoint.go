package pocketsphinx

import (
	"math"

	"github.com/switchboard-cs/switchboard/asr"
)

// PocketSphinx 5prealpha only detects the end of an utterance when it removes silence
// from what it decodes, and then its word times drift by the silence removed. It decodes
// every frame here (-remove_silence no) and this energy detector decides where an
// utterance ends in a stream: after speech, a pause of endSilence ends it; an utterance
// is also cut after maxUtterance so that memory stays bounded on endless input.
const (
	epFrame       = asr.SampleRate / 100 // 10 ms analysis frames
	epStartFrames = 10                   // 100 ms of speech start an utterance
	epEndFrames   = 60                   // 600 ms of pause end it
	epMaxFrames   = 30 * 100             // 30 s at most
	epMargin      = 12.0                 // dB above the noise floor that count as speech
	epMinSpeech   = -55.0                // dBFS below which nothing is speech
)

// endpointer tracks frame energies against an adaptive noise floor.
type endpointer struct {
	carry    []int16 // samples of an incomplete frame
	noise    float64 // noise floor, dBFS; 0 before the first frame
	speech   int     // consecutive speech frames
	pause    int     // consecutive non-speech frames since speech
	talking  bool    // the open utterance has speech
	uttFrame int     // frames in the open utterance
}

func (p *endpointer) reset() { *p = endpointer{carry: p.carry[:0]} }

// next returns how many samples of pcm belong to the open utterance (at least one of a
// non-empty pcm) and whether it ends after them; the caller then ends it and passes the
// rest to next again.
func (p *endpointer) next(pcm []int16) (n int, ended bool) {
	consumed := 0
	for consumed < len(pcm) {
		need := epFrame - len(p.carry)
		n := min(need, len(pcm)-consumed)
		p.carry = append(p.carry, pcm[consumed:consumed+n]...)
		consumed += n
		if len(p.carry) < epFrame {
			break
		}
		ended := p.frame(frameDB(p.carry))
		p.carry = p.carry[:0]
		if ended {
			return consumed, true
		}
	}
	return len(pcm), false
}

// frame accounts one frame and reports whether the utterance ends after it.
func (p *endpointer) frame(db float64) bool {
	p.uttFrame++
	if p.noise == 0 {
		p.noise = db
	}
	isSpeech := db > p.noise+epMargin && db > epMinSpeech
	if isSpeech {
		p.speech++
		p.pause = 0
		if p.speech >= epStartFrames {
			p.talking = true
		}
	} else {
		p.speech = 0
		p.pause++
		// The floor follows quiet frames quickly and loud ones slowly.
		rate := 0.1
		if db > p.noise {
			rate = 0.002
		}
		p.noise += rate * (db - p.noise)
	}
	if (p.talking && p.pause >= epEndFrames) || p.uttFrame >= epMaxFrames {
		p.talking, p.speech, p.pause, p.uttFrame = false, 0, 0, 0
		return true
	}
	return false
}

// frameDB is the frame's energy in dB relative to full scale, floored at -100.
func frameDB(f []int16) float64 {
	var sum float64
	for _, s := range f {
		v := float64(s) / 32768
		sum += v * v
	}
	return max(10*math.Log10(sum/float64(len(f))+1e-10), -100)
}
