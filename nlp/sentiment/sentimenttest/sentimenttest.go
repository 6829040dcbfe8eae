// Package sentimenttest trains the sentiment model once per test process from the real
// data (the shared Chinese reviews and the English sentences under .deps/), for the
// tests of the packages that use it.
package sentimenttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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
	en, err := sentiment.FindEnglishDir()
	if err != nil {
		root, rerr := repoRoot()
		if rerr != nil {
			testenv.Missing(t, rerr.Error())
			return nil
		}
		out, ferr := exec.Command(filepath.Join(root, "scripts", "fetch-sentiment-data.sh")).CombinedOutput()
		if en, err = sentiment.FindEnglishDir(); err != nil {
			testenv.Missing(t, fmt.Sprintf("the English sentences are missing and the fetch failed (%v): %s", ferr, out))
			return nil
		}
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

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
	}
}
