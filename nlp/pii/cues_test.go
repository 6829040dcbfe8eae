package pii

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// TestCueAutomatonFindsEveryCue: the automaton finds each cue of every list where a search
// per cue finds it, on the presidio set's texts and a few Chinese ones.
func TestCueAutomatonFindsEveryCue(t *testing.T) {
	texts := []string{"我叫王小明，收件人：李四，联系人 张三", "Hi, my name is Anna, I live at 12 Elm Road; ship to 4 Oak St", "mr. mr. Mrs. dear",
		"订单号：20231123 手机 13812345678，¥100元；card 4111, SSN 078-05-1120, passport X1234567, 驾驶证 1234"}
	recs, err := readPresidio(testenv.SharedData(t, "pii_presidio_synth"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		texts = append(texts, r.FullText)
	}
	lists := map[cueKind][]string{}
	for _, c := range enNameCues {
		lists[cueEnName] = append(lists[cueEnName], c.cue)
	}
	for _, c := range zhNameCues {
		lists[cueZhName] = append(lists[cueZhName], c.cue)
	}
	lists[cueEnAddress] = enAddressCues
	for kind, list := range cueLists {
		if list != nil {
			lists[cueKind(kind)] = list
		}
	}
	found := 0
	for _, text := range texts {
		sc := &scan{}
		lower := sc.lowered(text)
		for kind, list := range lists {
			var want []cue
			for i, c := range list {
				for from := 0; ; {
					k := strings.Index(lower[from:], c)
					if k < 0 {
						break
					}
					want = append(want, cue{index: i, start: from + k, end: from + k + len(c)})
					from += k + 1
				}
			}
			got := append([]cue(nil), sc.cuesOf(text, kind)...)
			for _, s := range [][]cue{want, got} {
				sort.Slice(s, func(i, j int) bool {
					return s[i].start < s[j].start || s[i].start == s[j].start && s[i].index < s[j].index
				})
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(cue{})); diff != "" {
				t.Fatalf("%q, kind %d (-search +automaton):\n%s", text, kind, diff)
			}
			found += len(got)
		}
	}
	if found < 100 {
		t.Errorf("only %d cues found: the test says nothing", found)
	}
}
