// Package sentimenttest trains the sentiment model once per test process from the real
// data (the shared Chinese reviews and the English sentences under .deps/), for the
// tests of the packages that use it.
package sentimenttest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/nlp/sentiment"
)

var trained struct {
	once  sync.Once
	model *sentiment.Model
	err   error
}

// Model returns the model trained on the real data; without the data the test skips
// (fails with CI=true). The English sentences are fetched first when missing.
func Model(t testing.TB) *sentiment.Model {
	t.Helper()
	zh := filepath.Dir(testenv.SharedData(t, sentiment.ChineseDirName))
	en := testenv.Fetched(t, "fetch-sentiment-data.sh", sentiment.FindEnglishDir)
	if en == "" {
		return nil
	}
	trained.once.Do(func() {
		var c sentiment.Corpus
		if c, trained.err = sentiment.ReadCorpus(zh, en); trained.err == nil {
			trained.model, _, trained.err = sentiment.Train(context.Background(), c, sentiment.Options{})
		}
	})
	if trained.err != nil {
		t.Fatal(trained.err)
	}
	return trained.model
}
