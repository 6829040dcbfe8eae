package sentiment

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// englishDir returns the English sentences' folder, running
// scripts/fetch-sentiment-data.sh first when it is missing; without it the test skips,
// or fails with CI=true.
func englishDir(t testing.TB) string {
	t.Helper()
	return testenv.Fetched(t, "fetch-sentiment-data.sh", FindEnglishDir)
}

// realCorpus reads the real Chinese and English data (skipping the test without them,
// failing with CI=true).
func realCorpus(t testing.TB) Corpus {
	t.Helper()
	data := filepath.Dir(testenv.SharedData(t, ChineseDirName))
	en := englishDir(t)
	c, err := ReadCorpus(data, en)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trained is the model trained once on the real data with the default options, as
// `switchboard quality train` trains it, shared by the tests.
var trained struct {
	once   sync.Once
	corpus Corpus
	m      *Model
	rep    Report
	err    error
}

// trainedModel returns the shared model, its report and the corpus it was trained on.
func trainedModel(t testing.TB) (*Model, Report, Corpus) {
	t.Helper()
	c := realCorpus(t)
	trained.once.Do(func() {
		trained.corpus = c
		trained.m, trained.rep, trained.err = Train(context.Background(), c, Options{})
	})
	if trained.err != nil {
		t.Fatalf("Train: %v", trained.err)
	}
	return trained.m, trained.rep, trained.corpus
}

// langReport returns rep's part for l.
func langReport(t testing.TB, rep Report, l string) LangReport {
	t.Helper()
	for _, r := range rep.Languages {
		if string(r.Lang) == l {
			return r
		}
	}
	t.Fatalf("no %s in the report", l)
	return LangReport{}
}
