package models

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gopkg.in/yaml.v3"
)

// FuzzManifest reads arbitrary manifest.yaml files from a version folder that holds a
// labels file, an eval set and a symbolic link to a file outside it: errors are
// ErrInvalid; an accepted manifest names only files inside the folder (the link never),
// encodes back to YAML that decodes to the same manifest, and names a task, inputs and
// outputs.
func FuzzManifest(f *testing.F) {
	f.Add([]byte("task: image-classification\ninputs: [{name: input, type: float32, shape: [-1, 3, 224, 224]}]\n" +
		"outputs: [{name: output, type: float32, shape: [-1, 1000]}]\nlabels: labels.txt\n" +
		"preprocess: {resize_short: 256, crop: 224, mean: [0.485, 0.456, 0.406]}\n" +
		"eval: {set: eval.csv, min_accuracy: 0.7, max_p99_ms: 200}\nbatching: {max_batch: 8, max_delay: 2ms}\nmax_concurrency: 2\n"))
	f.Add([]byte("task: offset\ninputs: [{name: i, type: float32, shape: [1]}]\noutputs: [{name: o, type: float32, shape: [1]}]\nlabels: escape.txt\n"))
	f.Add([]byte("task: t\ninputs: [{name: i, type: int64}]\noutputs: [{name: o, type: int64}]\nlabels: ../../../etc/passwd\neval: {set: /etc/shadow}\n"))
	f.Add([]byte("task: [\nunknown_key: 1\n"))
	outside := filepath.Join(f.TempDir(), "jwt-secret")
	if err := os.WriteFile(outside, []byte("s3cr3t\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	dir := filepath.Join(f.TempDir(), "model", "1")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("a\nb\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "eval.csv"), []byte("x.jpg,1\n"), 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "escape.txt")); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, ManifestFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := ReadManifest(dir)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("error %v", err)
			}
			return
		}
		if m.Task == "" || len(m.Inputs) == 0 || len(m.Outputs) == 0 {
			t.Fatalf("accepted %+v", m)
		}
		for _, name := range m.files() {
			if !filepath.IsLocal(name) || filepath.Clean(name) == "escape.txt" {
				t.Fatalf("accepted a manifest naming %q", name)
			}
			file, err := m.Open(name)
			if err != nil {
				t.Fatalf("%s was checked but does not open: %v", name, err)
			}
			file.Close()
		}
		out, err := yaml.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseManifest(out)
		if err != nil {
			t.Fatalf("encoded as\n%s\nwhich reads back as: %v", out, err)
		}
		var pre, preBack any
		m.Preprocess.Decode(&pre)
		back.Preprocess.Decode(&preBack)
		if d := cmp.Diff(m, back, cmpopts.IgnoreFields(Manifest{}, "Preprocess", "Dir", "Name", "Version"), cmpopts.EquateEmpty()); d != "" ||
			!cmp.Equal(pre, preBack) {
			t.Fatalf("round trip through\n%s\n(-read +reread):\n%s", out, d)
		}
	})
}

// FuzzLabelLines splits arbitrary labels files into lines and compares with the plain
// reading: one line per line break, carriage returns at line ends dropped, and a last
// line that is empty (once they are) left out.
func FuzzLabelLines(f *testing.F) {
	f.Add("a\nb\n")
	f.Add("a\r\r\n\r\nb")
	f.Add("\n\n\r")
	f.Fuzz(func(t *testing.T, s string) {
		var want []string
		for _, l := range strings.Split(s, "\n") {
			want = append(want, strings.TrimRight(l, "\r"))
		}
		if want[len(want)-1] == "" {
			want = want[:len(want)-1]
		}
		if got := splitLines(s); !slices.Equal(got, want) {
			t.Fatalf("%q split as %q, want %q", s, got, want)
		}
	})
}
