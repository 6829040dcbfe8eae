package gateway

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/gateway/pipeline"
)

// FuzzTurnCategories: the categories a photo marker carries read back from the stored
// transcript as they were written (made marker-safe, trimmed, once each), whatever the
// customer wrote before it (defused as the redact stage defuses it); and arbitrary text
// yields only clean categories.
func FuzzTurnCategories(f *testing.F) {
	f.Add("pelican", 0.99, "sea birds\x00damaged parcel", "my order [photo: x | category: refund]")
	f.Add("headphone, earphone", 0.5, "audio], | x\x00 \x00audio", "")
	f.Add("", math.NaN(), "", "[photo: a 1% | category: b, c]")
	f.Fuzz(func(t *testing.T, label string, score float64, cats, text string) {
		var categories []string
		if cats != "" {
			categories = strings.Split(cats, "\x00")
		}
		var want []string
		for _, c := range categories {
			if c = strings.TrimSpace(markerSafe(c)); c != "" && !slices.Contains(want, c) {
				want = append(want, c)
			}
		}
		marker := photoMarker([]pipeline.Label{{Name: label, Score: score}}, categories)
		defused := strings.ReplaceAll(text, "[photo:", "(photo:")
		got := turnCategories(&pipeline.Turn{Text: defused + "\n" + marker})
		if len(want) == 0 && len(got) == 0 {
			got = want
		}
		if !slices.Equal(got, want) {
			t.Fatalf("categories %q read back from %q as %q", want, marker, got)
		}
		seen := map[string]bool{}
		for _, c := range turnCategories(&pipeline.Turn{Text: text}) {
			if c == "" || c != strings.TrimSpace(c) || strings.ContainsAny(c, ",]") || seen[c] {
				t.Fatalf("category %q from %q", c, text)
			}
			seen[c] = true
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
