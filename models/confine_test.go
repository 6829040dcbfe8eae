package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/models"
)

// secretFile writes a file that stands for the server's JWT secret beside the model
// repository (<base>/jwt-secret, the repository being <base>/repo) and returns its path
// and a check that it still holds what it held.
func secretFile(t *testing.T, base string) (string, func()) {
	t.Helper()
	path := filepath.Join(base, "jwt-secret")
	const content = "s3cr3t-signing-key\nsecond line\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, func() {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Errorf("the secret file was touched: %q, %v", got, err)
		}
	}
}

// TestManifestPathsStayInTheVersionFolder: a version whose manifest names a file outside
// its folder (absolute, "..", or a symbolic link inside the folder that points out) is
// refused with ErrInvalid, serves nothing, and never shows the file's contents.
func TestManifestPathsStayInTheVersionFolder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra func(secret string) string // appended to the manifest (which has labels: labels.txt)
		setup func(t *testing.T, dir, secret string)
		want  string // in the error
	}{
		{"absolute labels", func(string) string { return "" }, func(t *testing.T, dir, secret string) {
			rewriteManifest(t, dir, "labels: labels.txt", "labels: "+secret)
		}, "inside its version folder"},
		{"labels with ..", func(string) string { return "" }, func(t *testing.T, dir, _ string) {
			rewriteManifest(t, dir, "labels: labels.txt", "labels: ../../../jwt-secret")
		}, "inside its version folder"},
		{"eval set with ..", func(string) string { return "eval: {set: ../../../jwt-secret, min_accuracy: 0.5}\n" }, nil,
			"inside its version folder"},
		{"absolute eval set", func(s string) string { return "eval: {set: " + s + ", min_accuracy: 0.5}\n" }, nil,
			"inside its version folder"},
		{"labels symlinked out", func(string) string { return "" }, func(t *testing.T, dir, secret string) {
			os.Remove(filepath.Join(dir, "labels.txt"))
			if err := os.Symlink(secret, filepath.Join(dir, "labels.txt")); err != nil {
				t.Fatal(err)
			}
		}, "escapes"},
		{"labels symlinked out relatively", func(string) string { return "" }, func(t *testing.T, dir, _ string) {
			os.Remove(filepath.Join(dir, "labels.txt"))
			if err := os.Symlink("../../../jwt-secret", filepath.Join(dir, "labels.txt")); err != nil {
				t.Fatal(err)
			}
		}, "escapes"},
		{"model symlinked out", func(string) string { return "" }, func(t *testing.T, dir, _ string) {
			outside := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(dir))), "model.onnx")
			if err := os.Rename(filepath.Join(dir, models.ModelFile), outside); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(dir, models.ModelFile)); err != nil {
				t.Fatal(err)
			}
		}, "escapes"},
		{"manifest symlinked out", func(string) string { return "" }, func(t *testing.T, dir, secret string) {
			os.Remove(filepath.Join(dir, models.ManifestFile))
			if err := os.Symlink(secret, filepath.Join(dir, models.ManifestFile)); err != nil {
				t.Fatal(err)
			}
		}, "escapes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			base := t.TempDir()
			repo := filepath.Join(base, "repo")
			secret, untouched := secretFile(t, base)
			writeVersion(t, repo, 1, tc.extra(secret))
			dir := filepath.Join(repo, "offset", "1")
			if tc.setup != nil {
				tc.setup(t, dir, secret)
			}
			r := openRegistry(t, repo, nil)
			_, err := r.Validate(ctx, "offset", "1")
			if !errors.Is(err, models.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("validate: %v; want ErrInvalid saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error shows the secret: %v", err)
			}
			if res, err := r.Infer(ctx, "offset", input(1)); !errors.Is(err, models.ErrUnavailable) {
				t.Errorf("the version serves: %+v %v", res, err)
			}
			list := r.List()
			if len(list) != 1 || len(list[0].Versions) != 1 || list[0].Versions[0].Error == "" {
				t.Errorf("list: %+v", list)
			}
			untouched()
		})
	}
}

func rewriteManifest(t *testing.T, dir, old, new string) {
	t.Helper()
	path := filepath.Join(dir, models.ManifestFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPushKeepsToTheManifestsFolder: a push whose manifest names a file outside the
// manifest's folder is refused with ErrInvalid, adds no version and leaves the file as
// it was — in particular the old "..": copying <src>/../../../jwt-secret to
// <tmp>/../../../jwt-secret, the same file, which the old code truncated.
func TestPushKeepsToTheManifestsFolder(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, src, secret string) // src holds model.onnx, manifest.yaml, labels.txt
	}{
		{"labels with .. onto itself", func(t *testing.T, src, _ string) {
			rewriteManifest(t, src, "labels: labels.txt", "labels: ../../../jwt-secret")
		}},
		{"absolute labels", func(t *testing.T, src, secret string) {
			rewriteManifest(t, src, "labels: labels.txt", "labels: "+secret)
		}},
		{"eval set with ..", func(t *testing.T, src, _ string) {
			appendManifest(t, src, "eval: {set: ../../../jwt-secret, min_accuracy: 0.5}\n")
		}},
		{"labels symlinked out", func(t *testing.T, src, secret string) {
			os.Remove(filepath.Join(src, "labels.txt"))
			if err := os.Symlink(secret, filepath.Join(src, "labels.txt")); err != nil {
				t.Fatal(err)
			}
		}},
		{"eval images outside", func(t *testing.T, src, _ string) {
			os.WriteFile(filepath.Join(src, "eval.csv"), []byte("../../../jwt-secret,0\n"), 0o644)
			appendManifest(t, src, "eval: {set: eval.csv, min_accuracy: 0.5}\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			repo := filepath.Join(base, "repo")
			secret, untouched := secretFile(t, base)
			writeVersion(t, repo, 1, "")
			r := openListingRegistry(t, repo)
			// the source folder sits as deep as the push's temporary folder
			// (<repo>/offset/.push-N), so the same ".." path names the same file from both
			src := filepath.Join(repo, "offset", "upload")
			copyVersion(t, filepath.Join(repo, "offset", "1"), src)
			tc.setup(t, src, secret)
			p, err := r.Push(ctx, "offset", filepath.Join(src, models.ModelFile), filepath.Join(src, models.ManifestFile), nil)
			untouched()
			if !errors.Is(err, models.ErrInvalid) {
				t.Fatalf("push: %+v %v; want ErrInvalid", p, err)
			}
			if _, err := os.Stat(filepath.Join(repo, "offset", "2")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a version was added: %v", err)
			}
		})
	}
}

// TestPushCopiesTheEvalSetsFiles: an evaluator that lists its set's files gets them
// copied with the set; the audit hook sees the model's SHA-256, and its error cancels the
// push.
func TestPushCopiesTheEvalSetsFiles(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	writeVersion(t, repo, 1, "")
	r := openListingRegistry(t, repo)
	src := t.TempDir()
	copyVersion(t, filepath.Join(repo, "offset", "1"), src)
	os.MkdirAll(filepath.Join(src, "eval", "img"), 0o755)
	os.WriteFile(filepath.Join(src, "eval", "set.txt"), []byte("img/a.bin\nimg/../img/a.bin\n"), 0o644)
	os.WriteFile(filepath.Join(src, "eval", "img", "a.bin"), []byte("A"), 0o644)
	appendManifest(t, src, "eval: {set: eval/set.txt, min_accuracy: 0.5}\n")
	model, err := os.ReadFile(filepath.Join(src, models.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	push := func(audit models.PushAudit) (models.Pushed, error) {
		return r.Push(ctx, "offset", filepath.Join(src, models.ModelFile), filepath.Join(src, models.ManifestFile), audit)
	}
	if _, err := push(func(context.Context, models.Pushed) error { return errors.New("audit log down") }); err == nil {
		t.Fatal("a push whose audit failed went through")
	}
	if _, err := os.Stat(filepath.Join(repo, "offset", "2")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a push whose audit failed was published: %v", err)
	}
	var audited models.Pushed
	p, err := push(func(_ context.Context, p models.Pushed) error { audited = p; return nil })
	want := models.Pushed{Model: "offset", Version: "2", SHA256: hex.EncodeToString(sum[:])}
	if err != nil || p != want || audited != want {
		t.Fatalf("push: %+v %v, audited %+v; want %+v", p, err, audited, want)
	}
	if got, err := os.ReadFile(filepath.Join(repo, "offset", "2", "eval", "img", "a.bin")); err != nil || string(got) != "A" {
		t.Errorf("eval image not pushed: %q %v", got, err)
	}
}

// listEval is an evaluator whose set is a list of file names, one a line.
type listEval struct{ fixedEval }

func (listEval) EvalFiles(m *models.Manifest) ([]string, error) {
	data, err := m.ReadFile(m.Eval.Set, 1<<20)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Fields(string(data)) {
		out = append(out, filepath.Join(filepath.Dir(m.Eval.Set), l))
	}
	return out, nil
}

func openListingRegistry(t *testing.T, repo string) *models.Registry {
	t.Helper()
	r, err := models.Open(context.Background(), models.Options{Dir: repo,
		Evaluators: map[string]models.Evaluator{"offset": listEval{fixedEval{0.95}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func copyVersion(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{models.ModelFile, models.ManifestFile, "labels.txt"} {
		data, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func appendManifest(t *testing.T, dir, extra string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, models.ManifestFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, extra)
	f.Close()
}
