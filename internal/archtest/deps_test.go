package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const module = "github.com/switchboard-cs/switchboard"

// areas say, for each folder (longest prefix first wins), which folders its production
// code may import from the module. A domain (tickets, kb, nlp, asr, models, vision) never
// imports the gateway, the commands or another domain beyond these: vision and nlp run
// models through models/ort. internal is plumbing and imports no domain. gateway/pipeline
// is the runner every flow shares and imports nothing. gateway/flow, the turn flow, lies
// below the server: it never imports it (nor an HTTP framework, see edgeFree). Only cmd/
// wires everything.
var areas = []struct {
	prefix string
	may    []string
}{
	{"cmd/", []string{""}}, // anything
	{"gateway/pipeline", []string{"internal/"}},
	{"gateway/flow", []string{"gateway/flow", "gateway/pipeline", "internal/", "tickets", "kb", "nlp", "asr", "vision"}},
	{"gateway/channels", []string{"gateway/channel"}},
	// a channel plugin knows the contract and the turn, never another channel
	{"gateway/channel", []string{"=gateway/channel", "gateway/pipeline", "internal/"}},
	{"gateway", []string{"gateway", "internal/", "tickets", "kb", "nlp", "asr", "models", "vision"}},
	{"web", nil},
	{"internal/", []string{"internal/"}},
	{"tickets", []string{"tickets", "internal/"}},
	{"kb", []string{"kb", "internal/"}},
	{"models", []string{"models", "internal/"}},
	{"vision", []string{"vision", "models", "internal/"}},
	{"nlp", []string{"nlp", "models/ort", "internal/"}},
	{"asr", []string{"asr", "internal/"}},
}

// testMay are the further imports a package's tests may have, each with its reason.
var testMay = map[string][]string{
	"kb": {"nlp/embed"}, // dense retrieval is tested with the real ONNX sentence encoder
}

// testHelpers may be imported by any package's tests: the test environment and the
// domains' own test kits (models/onnxtest, vision/visiontest, …).
func testHelper(rel string) bool {
	return rel == "internal/testenv" || strings.HasSuffix(rel, "test") && !strings.HasPrefix(rel, "cmd/")
}

// cgoLeaves are the only packages with cgo files, each with the module packages it may
// import (a leaf: at most the interface it implements). Third-party cgo (ONNX Runtime)
// is wrapped by the pure-Go models/ort.
var cgoLeaves = map[string][]string{
	"asr/audio":        nil,
	"asr/pocketsphinx": {"asr"},
	"asr/vosk":         {"asr"},
	"vision/turbojpeg": nil,
}

// edgeFree are packages that stay below the HTTP edge: they import none of these.
var edgeFree = map[string][]string{
	"gateway/flow":     {"net/http", "github.com/gin-gonic/gin", "github.com/coder/websocket"},
	"gateway/channel":  {"github.com/gin-gonic/gin"}, // a channel reads the *http.Request, not the server's router
	"gateway/channels": {"github.com/gin-gonic/gin"},
}

// wrapped third-party packages with cgo may be imported only by their wrapper.
var wrapped = map[string]string{
	"github.com/yalue/onnxruntime_go": "models/ort",
}

type goPackage struct {
	ImportPath                         string
	Imports, TestImports, XTestImports []string
	CgoFiles                           []string
	Error                              *struct{ Err string }
}

// within reports whether rel lies in the folder or package pattern p ("x/" is the
// folder's packages, "x" the package x and its sub-packages, "=x" the package x alone, ""
// everything).
func within(rel, p string) bool {
	if p == "" {
		return true
	}
	if exact, ok := strings.CutPrefix(p, "="); ok {
		return rel == exact
	}
	if strings.HasSuffix(p, "/") {
		return strings.HasPrefix(rel, p)
	}
	return rel == p || strings.HasPrefix(rel, p+"/")
}

// rulesFor returns the imports the package rel may have.
func rulesFor(rel string) ([]string, bool) {
	for _, a := range areas {
		if within(rel, strings.TrimSuffix(a.prefix, "/")) || within(rel, a.prefix) {
			return a.may, true
		}
	}
	return nil, false
}

// violations lists every broken rule of pkgs.
func violations(pkgs []goPackage) []string {
	var out []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		if p.Error != nil {
			out = append(out, fmt.Sprintf("%s: %s", rel, p.Error.Err))
			continue
		}
		may, known := rulesFor(rel)
		if !known {
			out = append(out, fmt.Sprintf("%s: a folder docs/architecture.md and this test do not know", rel))
			continue
		}
		check := func(imports []string, test bool) {
			for _, imp := range imports {
				dep, ok := strings.CutPrefix(imp, module+"/")
				if !ok || dep == rel || test && (testHelper(dep) || within(dep, rel) || slices.Contains(testMay[rel], dep)) {
					continue
				}
				if !slices.ContainsFunc(may, func(p string) bool { return within(dep, p) }) {
					kind := "imports"
					if test {
						kind = "tests import"
					}
					out = append(out, fmt.Sprintf("%s %s %s", rel, kind, dep))
				}
			}
		}
		for _, imp := range p.Imports {
			if w, ok := wrapped[imp]; ok && rel != w {
				out = append(out, fmt.Sprintf("%s imports %s (only %s may)", rel, imp, w))
			}
			for pkg, banned := range edgeFree {
				if within(rel, pkg) && slices.Contains(banned, imp) {
					out = append(out, fmt.Sprintf("%s imports %s (it lies below the HTTP edge)", rel, imp))
				}
			}
		}
		check(p.Imports, false)
		check(append(slices.Clone(p.TestImports), p.XTestImports...), true)
		if len(p.CgoFiles) > 0 {
			allowed, leaf := cgoLeaves[rel]
			if !leaf {
				out = append(out, fmt.Sprintf("%s has cgo (%s) but is not a cgo leaf", rel, strings.Join(p.CgoFiles, ", ")))
			}
			for _, imp := range p.Imports {
				if dep, ok := strings.CutPrefix(imp, module+"/"); ok && leaf && !slices.Contains(allowed, dep) {
					out = append(out, fmt.Sprintf("cgo leaf %s imports %s", rel, dep))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// listModule runs `go list -json ./...` at the module's root, with an overlay when given.
func listModule(t *testing.T, overlay string) []goPackage {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Fatalf("no go command: %v", err)
		}
	}
	args := []string{"list", "-e", "-json"}
	if overlay != "" {
		args = append(args, "-overlay", overlay)
	}
	cmd := exec.Command(goBin, append(args, "./...")...)
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []goPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	return pkgs
}

// TestPackagesKeepTheirPlace: every import of the module and every cgo file keeps the
// rules above.
func TestPackagesKeepTheirPlace(t *testing.T) {
	if v := violations(listModule(t, "")); len(v) > 0 {
		t.Errorf("the package structure breaks %d rules (see docs/architecture.md):\n%s", len(v), strings.Join(v, "\n"))
	}
}

// TestGuardCatchesPlantedImports plants, through `go list -overlay`, files that break
// the rules in the real tree (the ticket core importing the knowledge base, plumbing importing a
// domain, the turn flow importing gin and a domain it does not use, a channel importing
// another, cgo in the knowledge base, ONNX
// Runtime's cgo outside its wrapper) and expects the guard to name each.
func TestGuardCatchesPlantedImports(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plant := map[string]string{
		"tickets/zz_planted.go":               "package tickets\n\nimport _ \"" + module + "/kb\"\n",
		"internal/par/zz_planted.go":          "package par\n\nimport _ \"" + module + "/kb\"\n",
		"cmd/switchboard/zz_planted.go":       "package main\n\nimport _ \"github.com/yalue/onnxruntime_go\"\n",
		"kb/zz_planted.go":                    "package kb\n\n// #include <stdlib.h>\nimport \"C\"\n\nvar _ = C.free\n",
		"gateway/channel/slack/zz_planted.go": "package slack\n\nimport _ \"" + module + "/gateway/channel/telegram\"\n",
		"gateway/flow/zz_planted.go":          "package flow\n\nimport (\n\t_ \"" + module + "/models\"\n\t_ \"github.com/gin-gonic/gin\"\n)\n",
	}
	replace := map[string]string{}
	for rel, src := range plant {
		f := filepath.Join(dir, strings.ReplaceAll(rel, "/", "_"))
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		replace[filepath.Join(root, filepath.FromSlash(rel))] = f
	}
	raw, _ := json.Marshal(map[string]any{"Replace": replace})
	overlay := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlay, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	got := violations(listModule(t, overlay))
	want := []string{"cmd/switchboard imports github.com/yalue/onnxruntime_go (only models/ort may)",
		"gateway/channel/slack imports gateway/channel/telegram",
		"gateway/flow imports github.com/gin-gonic/gin (it lies below the HTTP edge)", "gateway/flow imports models",
		"internal/par imports kb", "kb has cgo (zz_planted.go) but is not a cgo leaf", "tickets imports kb"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("violations with planted files (-want +got):\n%s", diff)
	}
}
