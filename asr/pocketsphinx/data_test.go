package pocketsphinx

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// utterance is one recording of an evaluation set with its reference transcript.
type utterance struct {
	id  string
	pcm []int16
	ref string
}

func seconds(utts []utterance) float64 {
	n := 0
	for _, u := range utts {
		n += len(u.pcm)
	}
	return float64(n) / asr.SampleRate
}

// decodeFile reads a WAV file (any rate, resampled to 16 kHz by asr/audio).
func decodeFile(t testing.TB, path string) []int16 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pcm, _, err := audio.Decode(data, audio.Limits{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pcm
}

// librivox: five read-speech utterances, references in <id>.txt.
func librivox(t testing.TB) []utterance {
	dir := testenv.SharedData(t, "speech_en_pocketsphinx_librivox")
	var out []utterance
	for _, id := range lines(t, filepath.Join(dir, "fileids")) {
		ref, err := os.ReadFile(filepath.Join(dir, id+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, utterance{id, decodeFile(t, filepath.Join(dir, id+".wav")), strings.TrimSpace(string(ref))})
	}
	return out
}

var sphinxTranscript = regexp.MustCompile(`^<s>\s*(.*?)\s*</s>\s*\((\S+)\)$`)

// cards: five card-game commands, references in cards.transcription (Sphinx format).
func cards(t testing.TB) []utterance {
	dir := testenv.SharedData(t, "speech_en_pocketsphinx_cards")
	var out []utterance
	for _, l := range lines(t, filepath.Join(dir, "cards.transcription")) {
		m := sphinxTranscript.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("cards.transcription: unexpected line %q", l)
		}
		out = append(out, utterance{m[2], decodeFile(t, filepath.Join(dir, m[2]+".wav")), m[1]})
	}
	return out
}

// goforward: headerless 16 kHz PCM, "go forward ten meters".
func goforward(t testing.TB) []utterance {
	path := testenv.SharedData(t, "speech_en_pocketsphinx_cards/goforward.raw")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pcm, err := audio.DecodeRaw(raw, asr.SampleRate, audio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return []utterance{{"goforward", pcm, "go forward ten meters"}}
}

// voskTestWAV: three phrases of digits; the reference is what Vosk's small English
// model produced (see the set's SOURCE.md), so "oh" and "zero" both appear.
func voskTestWAV(t testing.TB) []utterance {
	path := testenv.SharedData(t, "speech_en_vosk_testwav/test.wav")
	return []utterance{{"test", decodeFile(t, path), "one zero zero zero one nine oh two one oh zero one eight zero three"}}
}

// fsdd: 300 spoken digits at 8 kHz (resampled), the digit is the file name's first
// character.
func fsdd(t testing.TB) []utterance {
	dir := testenv.SharedData(t, "fsdd_test/recordings")
	files, err := filepath.Glob(filepath.Join(dir, "*.wav"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings in %s: %v", dir, err)
	}
	sort.Strings(files)
	words := []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}
	out := make([]utterance, 0, len(files))
	for _, f := range files {
		base := filepath.Base(f)
		out = append(out, utterance{base, decodeFile(t, f), words[base[0]-'0']})
	}
	return out
}

// customerSentences are what espeak-ng says for the synthesized set; numbers are written
// as words so that the reference is what is spoken.
var customerSentences = []string{
	"i want a refund for my order",
	"my order number is one two three four five",
	"the package arrived damaged yesterday",
	"can i speak to a human agent please",
	"please cancel my subscription",
	"how do i reset my password",
	"where is my delivery",
	"i was charged twice this month",
}

// espeak synthesizes the customer sentences with espeak-ng (22050 Hz WAV, resampled).
func espeak(t testing.TB) []utterance {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		msg := "espeak-ng not installed (apt-get install espeak-ng): the synthesized set is not run"
		if testenv.InCI() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	out := make([]utterance, 0, len(customerSentences))
	for i, s := range customerSentences {
		wav := filepath.Join(dir, strings.ReplaceAll(s, " ", "_")+".wav")
		if b, err := exec.Command(bin, "-v", "en-us", "-w", wav, s).CombinedOutput(); err != nil {
			t.Fatalf("espeak-ng: %v: %s", err, b)
		}
		out = append(out, utterance{string(rune('a' + i)), decodeFile(t, wav), s})
	}
	return out
}

func lines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
