package para

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestAdaptLearnsTheFAQ adapts a model that knows none of the words to an FAQ whose
// entries say one thing with two words sharing no letters, and checks that a question
// in one word then finds its entry's other word; the model it started from cannot.
func TestAdaptLearnsTheFAQ(t *testing.T) {
	base := &Model{dim: 64, slot: map[uint64]int32{}, unseenIDF: 1, fingerprint: "para:base"}
	var entries [][]string
	for _, g := range synonymGroups() {
		entries = append(entries, g.Texts)
	}
	ctx := context.Background()
	m, err := base.Adapt(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	bare := func(w string) string { return w }
	rank := func(m *Model) int { return matched(m, synonymPairs, bare, bare) }
	if got := rank(m); got < 9 {
		t.Errorf("adapted model matched %d of 10 synonyms", got)
	}
	if got := rank(base); got > 3 {
		t.Errorf("the model before adapting matched %d of 10 synonyms: the test cannot tell adapting apart", got)
	}
	// the base is untouched, and words outside the FAQ keep the base's vectors
	if got := rank(base); got != rank(&Model{dim: 64, slot: map[uint64]int32{}, unseenIDF: 1}) {
		t.Error("adapting changed the model it started from")
	}
	if !slices.Equal(m.Vector("weather forecast tomorrow"), base.Vector("weather forecast tomorrow")) {
		t.Error("a text with no word of the FAQ moved")
	}
	if m.Info.AdaptedTo != len(entries) {
		t.Errorf("AdaptedTo %d, want %d", m.Info.AdaptedTo, len(entries))
	}
	// the fingerprint names the base and the FAQ, and the same FAQ gives the same model
	again, err := base.Adapt(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	other, err := base.Adapt(ctx, entries[1:])
	if err != nil {
		t.Fatal(err)
	}
	if m.Fingerprint() == base.Fingerprint() || m.Fingerprint() != again.Fingerprint() || other.Fingerprint() == m.Fingerprint() {
		t.Errorf("fingerprints: base %q, adapted %q, again %q, other FAQ %q", base.Fingerprint(), m.Fingerprint(),
			again.Fingerprint(), other.Fingerprint())
	}
	if !slices.Equal(m.Vector("refund please"), again.Vector("refund please")) {
		t.Error("adapting twice to the same FAQ gave different vectors")
	}
}

func TestAdaptNeedsEntriesOfTwoPhrasings(t *testing.T) {
	base := &Model{dim: 16, slot: map[uint64]int32{}, unseenIDF: 1}
	ctx := context.Background()
	for _, entries := range [][][]string{
		nil,
		{{"how do i get a refund"}, {"where is my parcel"}, {"cancel my order"}}, // one phrasing each
		{{"refund", "money back"}, {"where is my parcel"}},                       // one entry teaches
	} {
		m, err := base.Adapt(ctx, entries)
		if err != nil || m != base {
			t.Errorf("Adapt(%q) = %p, %v; want the model itself", entries, m, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	var entries [][]string
	for _, g := range synonymGroups() {
		entries = append(entries, g.Texts)
	}
	if _, err := base.Adapt(cancelled, entries); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err %v", err)
	}
}
