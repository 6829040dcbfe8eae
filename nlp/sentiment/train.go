package sentiment

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/switchboard-cs/switchboard/nlp/intent"
	"github.com/switchboard-cs/switchboard/nlp/lang"
)

// The labels of each language's classifier.
const (
	labelNegative = "negative"
	labelPositive = "positive"
)

// Options tune [Train]; a zero field takes its default.
type Options struct {
	Seed int64 // SGD shuffling seed (default 1); the same seed and data give the same model
	// HeldOut is the share of each language's examples held out for evaluation, chosen by
	// a hash of the text (default 0.2): the same texts whatever the other options.
	HeldOut float64
	// MaxTrain caps the training examples per language (0: all), chosen by another hash
	// of the text, so a cap gives the same subset on every run.
	MaxTrain int
	Epochs   int // passes over the training set (default 8)
	// Progress, when set, is told when a language's training starts and ends.
	Progress func(l lang.Lang, event string)
}

// Defaults of a zero Options field.
const (
	defaultSeed    = 1
	defaultHeldOut = 0.2
	defaultEpochs  = 8
)

func (o Options) withDefaults() Options {
	if o.Seed == 0 {
		o.Seed = defaultSeed
	}
	if o.HeldOut <= 0 || o.HeldOut >= 1 {
		o.HeldOut = defaultHeldOut
	}
	if o.Epochs <= 0 {
		o.Epochs = defaultEpochs
	}
	if o.Progress == nil {
		o.Progress = func(lang.Lang, string) {}
	}
	return o
}

// Report is what [Train] measured.
type Report struct {
	Languages []LangReport `json:"languages"`
	Seconds   float64      `json:"seconds"` // the whole training, wall clock
}

// LangReport is one language's part of a Report.
type LangReport struct {
	Lang      lang.Lang `json:"lang"`
	Sources   []string  `json:"sources"`
	Available int       `json:"available"` // examples on the training side of the split, before MaxTrain
	Train     int       `json:"train"`     // examples trained on
	HeldOut   Eval      `json:"held_out"`
	// BySet is the held-out accuracy of each source set.
	BySet       []NamedEval `json:"by_set"`
	OutOfDomain []NamedEval `json:"out_of_domain"`
	Seconds     float64     `json:"seconds"` // this language's training time
}

// NamedEval is an Eval of one named set.
type NamedEval struct {
	Name string `json:"name"`
	Eval Eval   `json:"eval"`
}

// Train fits one polarity classifier per language of sets (nlp/intent's softmax
// regression over word and character n-grams, labels negative and positive) on the
// training side of a hash split, calibrates its probabilities (see trainLang), and
// measures each on its held-out side and on the language's out-of-domain sets. The languages train concurrently. Training is
// deterministic for a given corpus and Options.
func Train(ctx context.Context, sets Corpus, opts Options) (*Model, Report, error) {
	opts = opts.withDefaults()
	start := time.Now()
	langs := sets.Languages()
	if len(langs) == 0 {
		return nil, Report{}, fmt.Errorf("%w: the corpus has no language", ErrNoData)
	}
	m := &Model{langs: make(map[lang.Lang]*scorer), info: Info{Trained: start.UTC(), Seed: opts.Seed}}
	reps := make([]LangReport, len(langs))
	held := make([][]Set, len(langs))
	classifiers := make([]*scorer, len(langs))
	errs := make([]error, len(langs))
	var wg sync.WaitGroup
	for i, l := range langs {
		wg.Go(func() {
			classifiers[i], held[i], reps[i], errs[i] = trainLang(ctx, l, sets.Sets[l], opts)
		})
	}
	wg.Wait()
	for i, l := range langs {
		if errs[i] != nil {
			return nil, Report{}, fmt.Errorf("sentiment: train %s: %w", l, errs[i])
		}
		m.langs[l] = classifiers[i]
	}
	// Measured through Negativity, as served: each text goes to its script's classifier.
	for i, l := range langs {
		var err error
		if reps[i].HeldOut, reps[i].BySet, err = m.evaluateSets(ctx, held[i]); err != nil {
			return nil, Report{}, err
		}
		if _, reps[i].OutOfDomain, err = m.evaluateSets(ctx, sets.OutOfDomain[l]); err != nil {
			return nil, Report{}, err
		}
		m.info.Languages = append(m.info.Languages, LangInfo{Lang: l, Sources: reps[i].Sources,
			Examples: reps[i].Train, Accuracy: reps[i].HeldOut.Accuracy, Temperature: m.langs[l].temp})
	}
	return m, Report{Languages: reps, Seconds: time.Since(start).Seconds()}, nil
}

// calibShare is the share of the training side a first classifier is trained without,
// to fit the calibration temperature on.
const calibShare = 0.1

// trainLang trains one language's scorer on the training side of its sets' split and
// returns the held-out side of each set. The temperature is fitted on a slice of the
// training side (by another hash) with a classifier trained on the rest; the classifier
// kept is then trained on the whole training side.
func trainLang(ctx context.Context, l lang.Lang, sets []Set, opts Options) (*scorer, []Set, LangReport, error) {
	rep := LangReport{Lang: l}
	var train []Example
	held := make([]Set, len(sets))
	for i, s := range sets {
		rep.Sources = append(rep.Sources, s.Name)
		tr, ho := Split(s.Examples, opts.HeldOut)
		train = append(train, tr...)
		held[i] = Set{Name: s.Name, Examples: ho}
	}
	rep.Available = len(train)
	train = subsample(train, opts.MaxTrain)
	rep.Train = len(train)
	t0 := time.Now()
	opts.Progress(l, fmt.Sprintf("fitting the calibration on %d examples", len(train)))
	temp, err := calibrate(ctx, train, opts)
	if err != nil {
		return nil, nil, rep, err
	}
	opts.Progress(l, fmt.Sprintf("temperature %.2f; training on %d examples", temp, len(train)))
	c, err := trainClassifier(ctx, train, opts)
	if err != nil {
		return nil, nil, rep, err
	}
	rep.Seconds = time.Since(t0).Seconds()
	opts.Progress(l, fmt.Sprintf("trained in %.1f s", rep.Seconds))
	return &scorer{c: c, temp: temp}, held, rep, nil
}

// minCalib is the fewest calibration examples a temperature is fitted on; with fewer,
// the classifier's probabilities are kept as they are (temperature 1).
const minCalib = 50

// calibrate fits the temperature on the calibration slice of train with a classifier
// trained on the rest.
func calibrate(ctx context.Context, train []Example, opts Options) (float64, error) {
	fit, calib := splitBy("calib\x00", train, calibShare)
	if len(calib) < minCalib {
		return 1, nil
	}
	first, err := trainClassifier(ctx, fit, opts)
	if err != nil {
		return 0, err
	}
	z, neg := make([]float64, len(calib)), make([]bool, len(calib))
	probe := &scorer{c: first, temp: 1}
	for i, e := range calib {
		z[i], neg[i] = probe.logOdds(e.Text), e.Negative
	}
	return fitTemperature(z, neg), nil
}

// trainClassifier fits nlp/intent's classifier to the examples' polarity.
func trainClassifier(ctx context.Context, train []Example, opts Options) (*intent.Classifier, error) {
	exs := make([]intent.Example, len(train))
	for i, e := range train {
		exs[i] = intent.Example{Text: e.Text, Label: label(e.Negative)}
	}
	return intent.Train(ctx, exs, intent.Options{Epochs: opts.Epochs, Seed: opts.Seed})
}

// label names a polarity.
func label(negative bool) string {
	if negative {
		return labelNegative
	}
	return labelPositive
}

// textHash is the FNV-1a hash of salt and text.
func textHash(salt, text string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	h.Write([]byte(text))
	return h.Sum64()
}

// Split divides examples into a training and a held-out part: an example is held out
// when a hash of its text falls in the first share of the hash range. Equal texts land
// on the same side, and the split does not depend on the examples' order.
func Split(examples []Example, share float64) (train, heldOut []Example) {
	return splitBy("split\x00", examples, share)
}

// splitBy is Split with the hash salted by salt.
func splitBy(salt string, examples []Example, share float64) (rest, part []Example) {
	cut := uint64(share * 10000)
	for _, e := range examples {
		if textHash(salt, e.Text)%10000 < cut {
			part = append(part, e)
		} else {
			rest = append(rest, e)
		}
	}
	return rest, part
}

// subsample keeps the n examples whose texts hash lowest (all when n ≤ 0 or there are no
// more), in their original order.
func subsample(exs []Example, n int) []Example {
	if n <= 0 || len(exs) <= n {
		return exs
	}
	idx := make([]int, len(exs))
	keys := make([]uint64, len(exs))
	for i, e := range exs {
		idx[i], keys[i] = i, textHash("sample\x00", e.Text)
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	idx = idx[:n]
	slices.Sort(idx)
	out := make([]Example, n)
	for i, j := range idx {
		out[i] = exs[j]
	}
	return out
}
