package flow

import (
	"math"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// FuzzPhotoMarker: whatever a model's labels and a category map hold, a photo marker is
// one bracketed marker (nothing in it closes it early or opens another) that names at
// most three labels and every category, marker-safe; the categories themselves travel as
// stored fields (tickets.TurnFacts), never read back from it.
func FuzzPhotoMarker(f *testing.F) {
	f.Add("pelican", 0.99, "sea birds\x00damaged parcel")
	f.Add("headphone, earphone", 0.5, "audio], | x\x00 \x00audio")
	f.Add("", math.NaN(), "")
	f.Fuzz(func(t *testing.T, label string, score float64, cats string) {
		var categories []string
		if cats != "" {
			categories = strings.Split(cats, "\x00")
		}
		m := photoMarker([]pipeline.Label{{Name: label, Score: score}}, categories)
		if !strings.HasPrefix(m, "[photo: ") || !strings.HasSuffix(m, "]") || strings.Count(m, "[") != 1 || strings.Count(m, "]") != 1 {
			t.Fatalf("marker %q", m)
		}
		if len(categories) > 0 && strings.Count(m, "| category: ") != 1 {
			t.Fatalf("marker %q: categories %q", m, categories)
		}
		for _, c := range categories {
			if !strings.Contains(m, markerSafe(c)) {
				t.Fatalf("marker %q lacks category %q", m, c)
			}
		}
	})
}

// FuzzRenumber: the placeholders of a voice note's transcript are renamed so that none
// is one the stored message already uses and two different ones never become one (each
// names one vault entry); what is not a placeholder is left as it was.
func FuzzRenumber(f *testing.F) {
	f.Add("call [PHONE_1] or [PHONE_2], mail [EMAIL_1]", "at [PHONE_1] or [EMAIL_3]\n[voice message: transcribing]")
	f.Add("[PHONE_1]", "[PHONE_9223372036854775807]")
	f.Add("[PHONE_01] [PHONE_1] [PHONE_99999999999999999999]", "[PHONE_0]")
	f.Fuzz(func(t *testing.T, transcript, stored string) {
		text, subst := renumber(transcript, stored)
		used := map[string]bool{}
		for _, p := range placeholderRe.FindAllString(stored, -1) {
			used[p] = true
		}
		olds := map[string]string{}
		for old, nw := range subst {
			m := placeholderRe.FindStringSubmatch(nw)
			if m == nil || m[0] != nw || m[1] != placeholderRe.FindStringSubmatch(old)[1] || used[nw] {
				t.Fatalf("%s became %s (stored %q)", old, nw, stored)
			}
			if o, dup := olds[nw]; dup {
				t.Fatalf("%s and %s both became %s", o, old, nw)
			}
			olds[nw] = old
		}
		for _, p := range placeholderRe.FindAllString(text, -1) {
			if used[p] {
				t.Fatalf("%s is in the stored message already: %q", p, text)
			}
		}
		if a, b := placeholderRe.ReplaceAllString(text, ""), placeholderRe.ReplaceAllString(transcript, ""); a != b {
			t.Fatalf("the text around the placeholders changed: %q → %q", transcript, text)
		}
	})
}
