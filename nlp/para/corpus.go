package para

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"

	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/match"
)

// IntentGroups turns labelled questions into one group per intent; out-of-scope
// questions belong to no group.
func IntentGroups(exs []intent.Example) []Group {
	by := map[string][]string{}
	for _, e := range exs {
		if e.Label != intent.OutOfScope {
			by[e.Label] = append(by[e.Label], e.Text)
		}
	}
	out := make([]Group, 0, len(by))
	for _, k := range slices.Sorted(maps.Keys(by)) {
		out = append(out, Group{Texts: by[k]})
	}
	return out
}

// PairGroups turns question pairs into groups: each matching pair is a group of two,
// and the other side of a non-matching pair becomes a hard negative of the groups its
// first question is in.
func PairGroups(pairs []match.Pair) []Group {
	var out []Group
	of := map[string][]int{}
	for _, p := range pairs {
		if p.Same && p.A != p.B {
			of[p.A] = append(of[p.A], len(out))
			of[p.B] = append(of[p.B], len(out))
			out = append(out, Group{Texts: []string{p.A, p.B}})
		}
	}
	for _, p := range pairs {
		if p.Same {
			continue
		}
		for _, gi := range of[p.A] {
			out[gi].Hard = append(out[gi].Hard, p.B)
		}
		for _, gi := range of[p.B] {
			out[gi].Hard = append(out[gi].Hard, p.A)
		}
	}
	return out
}

// Corpus names the sets a model can be trained on.
type Corpus struct {
	Sets []Set
}

// Names lists the sets' names.
func (c Corpus) Names() []string {
	out := make([]string, len(c.Sets))
	for i, s := range c.Sets {
		out[i] = s.Name
	}
	return out
}

// Without returns the corpus less the named sets (the ones an evaluation is on).
func (c Corpus) Without(names ...string) Corpus {
	var out Corpus
	for _, s := range c.Sets {
		if !slices.Contains(names, s.Name) {
			out.Sets = append(out.Sets, s)
		}
	}
	return out
}

// Set names in a Corpus from LoadCorpus.
const (
	SetWordNet   = "wordnet"
	SetBanking77 = "banking77"
	SetCLINC150  = "clinc150"
	SetATEC      = "atec"
	SetBQ        = "bq"
	SetLCQMC     = "lcqmc"
	SetAFQMC     = "afqmc"
)

// LoadCorpus gathers the training sets it finds: WordNet's synsets from wordnetDir
// (Debian's wordnet-base), and from the shared data directory the intent groups of
// BANKING77's train split and CLINC150's train and validation splits, and the question
// pairs of ATEC, the BQ corpus, LCQMC and AFQMC (all their labelled splits). A set whose
// files are missing is left out; a file that is there but malformed is an error. Test
// splits of the intent sets are never read: they are what the few-shot evaluation asks.
func LoadCorpus(data, wordnetDir string) (Corpus, error) {
	var c Corpus
	add := func(name string, gs []Group, err error) error {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return fmt.Errorf("para: %s: %w", name, err)
		}
		c.Sets = append(c.Sets, Set{Name: name, Groups: gs})
		return nil
	}
	if wordnetDir != "" {
		gs, err := LoadWordNet(wordnetDir)
		if err := add(SetWordNet, gs, err); err != nil {
			return c, err
		}
	}
	if data == "" {
		return c, nil
	}
	if train, _, err := intent.LoadBanking77(filepath.Join(data, "banking77")); true {
		if err := add(SetBanking77, IntentGroups(train), err); err != nil {
			return c, err
		}
	}
	if train, val, _, err := intent.LoadCLINC150(filepath.Join(data, "clinc150")); true {
		if err := add(SetCLINC150, IntentGroups(append(train, val...)), err); err != nil {
			return c, err
		}
	}
	for _, zh := range []struct {
		name string
		load func(string) (dev, test []match.Pair, err error)
		dir  string
	}{
		{SetATEC, match.LoadATEC, "atec_ccks"}, {SetBQ, match.LoadBQ, "bq_corpus"},
		{SetLCQMC, match.LoadLCQMC, "lcqmc"},
		{SetAFQMC, func(dir string) (dev, test []match.Pair, err error) {
			dev, err = match.LoadAFQMC(dir)
			return dev, nil, err
		}, "afqmc"},
	} {
		dev, test, err := zh.load(filepath.Join(data, zh.dir))
		if err := add(zh.name, PairGroups(append(dev, test...)), err); err != nil {
			return c, err
		}
	}
	return c, nil
}
