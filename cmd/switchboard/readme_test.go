package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/gateway"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// repoRoot is the checkout's top folder, relative to this package.
var repoRoot = filepath.Join("..", "..")

func readme(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestReadmeStandsAlone: a fresh clone holds everything the README points to. Links go to
// its own sections or to files in the repository; nothing reaches above the checkout or
// off the machine.
func TestReadmeStandsAlone(t *testing.T) {
	text := readme(t)
	if strings.Contains(text, "../") {
		t.Errorf("the README names a path outside the repository (../): %q", around(text, "../"))
	}
	for _, m := range regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(text, -1) {
		target := m[1]
		switch {
		case strings.HasPrefix(target, "#"):
			continue
		case strings.Contains(target, "://"):
			t.Errorf("the README links off the repository: %s", target)
			continue
		}
		path, _, _ := strings.Cut(target, "#")
		if _, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(path))); err != nil {
			t.Errorf("the README links to %s, which the repository lacks: %v", target, err)
		}
	}
}

// TestReadmeSpeaksTheAPIVocabulary: the README documents every field of a
// POST /v1/messages reply, `switchboard ask` prints the same names, and every command in
// its Commands table exists.
func TestReadmeSpeaksTheAPIVocabulary(t *testing.T) {
	text := readme(t)
	api := jsonNames(reflect.TypeFor[gateway.MessageReply]())
	for _, name := range api {
		if !strings.Contains(text, "`"+name+"`") {
			t.Errorf("the README does not document the reply field %q of POST /v1/messages", name)
		}
	}
	ask := jsonNames(reflect.TypeFor[askResult]())
	for _, name := range []string{"reply", "citations", "confidence", "escalated", "wants_human"} {
		if !slices.Contains(ask, name) || !slices.Contains(api, name) {
			t.Errorf("%q is not a field of both `ask` (%v) and the API reply (%v)", name, ask, api)
		}
	}
	for _, name := range ask {
		if !strings.Contains(text, "`"+name+"`") {
			t.Errorf("the README does not name the `ask` field %q", name)
		}
	}
	rows := regexp.MustCompile("(?m)^\\| `switchboard ([a-z][a-z ]*)").FindAllStringSubmatch(text, -1)
	if len(rows) < 10 {
		t.Fatalf("found %d command rows in the README", len(rows))
	}
	for _, m := range rows {
		args := strings.Fields(m[1])
		for len(args) > 0 && strings.ToUpper(args[len(args)-1]) == args[len(args)-1] {
			args = args[:len(args)-1]
		}
		cmd, rest, err := rootCmd().Find(args)
		if err != nil || len(rest) > 0 || cmd.Name() != args[len(args)-1] {
			t.Errorf("the README lists `switchboard %s`, which is no command (%v, left %v)", m[1], err, rest)
		}
	}
}

// TestMakeRunNeedsNoTestTools: `make run` installs and fetches only what serve uses; the
// browser-test tools (playwright-core from the npm registry) belong to `make test`.
func TestMakeRunNeedsNoTestTools(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		testenv.Missing(t, "make is not installed") // a skip locally, a failure in CI
	}
	dry := func(target string) string {
		out, err := exec.Command("make", "-n", "-C", repoRoot, target).CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	run, test := dry("run"), dry("test")
	for _, want := range []string{"fetch-onnxruntime.sh", "fetch-vosk.sh", "switchboard serve"} {
		if !strings.Contains(run, want) {
			t.Errorf("make run does not run %s:\n%s", want, run)
		}
	}
	if strings.Contains(run, "fetch-e2e") || strings.Contains(run, "npm ") {
		t.Errorf("make run fetches test tools:\n%s", run)
	}
	if !strings.Contains(test, "fetch-e2e") {
		t.Errorf("make test no longer fetches the browser-test tools:\n%s", test)
	}
}

// jsonNames lists the JSON names of t's fields.
// jsonNames are the JSON field names of struct type t, with those of embedded structs.
func jsonNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			names = append(names, jsonNames(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// around returns the text near the first occurrence of s.
func around(text, s string) string {
	i := strings.Index(text, s)
	return text[max(0, i-60):min(len(text), i+60)]
}
