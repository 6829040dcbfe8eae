package sentiment

import (
	"context"
	"fmt"
	"os"
	"os/exec"
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
	if d, err := FindEnglishDir(); err == nil {
		return d
	}
	root, err := repoRoot()
	if err != nil {
		testenv.Missing(t, err.Error())
		return ""
	}
	script := filepath.Join(root, "scripts", "fetch-sentiment-data.sh")
	out, ferr := exec.Command(script).CombinedOutput()
	if d, err := FindEnglishDir(); err == nil {
		return d
	}
	testenv.Missing(t, fmt.Sprintf("the English sentiment sentences (.deps/%s) are missing and %s failed (%v):\n%s",
		EnglishDirName, script, ferr, out))
	return ""
}

// repoRoot is the folder above the working directory holding go.mod.
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
