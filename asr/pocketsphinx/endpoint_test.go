package pocketsphinx

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/switchboard-cs/switchboard/asr"
)

// signal builds PCM from (seconds, kind) parts: "tone" is a loud 440 Hz tone standing in
// for speech, "noise" quiet Gaussian noise, "zero" digital silence.
func signal(parts ...any) []int16 {
	rng := rand.New(rand.NewPCG(3, 5))
	var out []int16
	for i := 0; i < len(parts); i += 2 {
		n := int(parts[i].(float64) * asr.SampleRate)
		for j := range n {
			switch parts[i+1].(string) {
			case "tone":
				out = append(out, int16(8000*math.Sin(2*math.Pi*440*float64(j)/asr.SampleRate)+rng.NormFloat64()*30))
			case "noise":
				out = append(out, int16(rng.NormFloat64()*30))
			default:
				out = append(out, 0)
			}
		}
	}
	return out
}

func TestEndpointer(t *testing.T) {
	tests := []struct {
		name  string
		pcm   []int16
		chunk int
		ends  []float64 // seconds into the stream where utterances end
	}{
		{"noise only", signal(3.0, "noise"), 1600, nil},
		{"digital silence only", signal(3.0, "zero"), 1600, nil},
		{"speech then long pause", signal(0.5, "noise", 1.0, "tone", 1.0, "noise"), 1600, []float64{2.1}},
		{"short pause does not end", signal(0.5, "noise", 1.0, "tone", 0.4, "noise", 1.0, "tone", 0.3, "noise"), 800, nil},
		{"two utterances", signal(0.5, "noise", 1.0, "tone", 1.0, "noise", 1.0, "tone", 1.0, "noise"), 3000, []float64{2.1, 4.1}},
		{"one big chunk", signal(0.5, "noise", 1.0, "tone", 1.0, "noise", 1.0, "tone", 1.0, "noise"), 1 << 30, []float64{2.1, 4.1}},
		{"click shorter than speech onset", signal(0.5, "noise", 0.05, "tone", 2.0, "noise"), 160, nil},
		{"endless speech is cut", signal(65.0, "tone"), 16000, []float64{30, 60}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p endpointer
			var ends []float64
			pos := 0
			for off := 0; off < len(tt.pcm); off += tt.chunk {
				chunk := tt.pcm[off:min(off+tt.chunk, len(tt.pcm))]
				for len(chunk) > 0 {
					n, ended := p.next(chunk)
					if n < 1 {
						t.Fatalf("next consumed %d samples", n)
					}
					pos += n
					chunk = chunk[n:]
					if ended {
						ends = append(ends, float64(pos)/asr.SampleRate)
					}
				}
			}
			if len(ends) != len(tt.ends) {
				t.Fatalf("utterances end at %v s, want %v", ends, tt.ends)
			}
			for i := range ends {
				if math.Abs(ends[i]-tt.ends[i]) > 0.05 {
					t.Errorf("utterance %d ends at %.3f s, want %.3f", i, ends[i], tt.ends[i])
				}
			}
		})
	}
}

// TestStreamTimes streams "go forward ten meters", 2 s of quiet noise and the same again:
// the pause ends the first utterance inside the stream, and the words of both carry
// their times in the stream; a second stream starts again from zero.
func TestStreamTimes(t *testing.T) {
	e := engine(t, Config{})
	u := goforward(t)[0]
	pcm := append(append(append([]int16{}, u.PCM...), signal(2.0, "noise")...), u.PCM...)
	second := float64(len(u.PCM))/asr.SampleRate + 2
	rec, err := e.NewRecognizer(context.Background(), asr.RecognizerOptions{Words: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	for stream := range 2 {
		var all asr.Result
		finals := 0
		for off := 0; off < len(pcm); off += 1600 {
			_, fin, err := rec.Accept(pcm[off:min(off+1600, len(pcm))])
			if err != nil {
				t.Fatal(err)
			}
			if fin != nil {
				finals++
				all.Append(*fin)
			}
		}
		fin, err := rec.Final()
		if err != nil {
			t.Fatal(err)
		}
		all.Append(fin)
		if finals != 1 || all.Text != u.Ref+" "+u.Ref {
			t.Fatalf("stream %d: %d finals before Final, text %q", stream, finals, all.Text)
		}
		first, again := all.Words[0].Start, all.Words[4].Start
		if math.Abs(first-0.46) > 0.05 || math.Abs(again-(second+0.46)) > 0.05 {
			t.Errorf("stream %d: \"go\" at %.2f s and %.2f s, want 0.46 and %.2f", stream, first, again, second+0.46)
		}
	}
}
