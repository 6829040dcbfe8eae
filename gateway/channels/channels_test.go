package channels

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/switchboard-cs/switchboard/"

// kindPackage is the import path of the package that defines a kind's Open.
func kindPackage(open any) string {
	name := runtime.FuncForPC(reflect.ValueOf(open).Pointer()).Name() // …/gateway/channel/telegram.init.func1
	slash := strings.LastIndex(name, "/")
	return name[:slash+strings.Index(name[slash:], ".")]
}

// runsContract reports whether a _test.go file of dir calls channeltest.Run.
func runsContract(t *testing.T, dir string) bool {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range files {
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Run" {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "channeltest" {
					found = true
				}
			}
			return !found
		})
	}
	return found
}

// TestEveryChannelKeepsTheContract: each registered channel has a distinct, path-safe
// name, lives in its own package under gateway/channel, and that package's tests run the
// channel contract suite (gateway/channel/channeltest) with a kit of their own.
func TestEveryChannelKeepsTheContract(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range All {
		if !regexp.MustCompile(`^[a-z][a-z0-9_]*$`).MatchString(k.Name) || seen[k.Name] {
			t.Errorf("channel name %q: want a unique lower-case name", k.Name)
		}
		seen[k.Name] = true
		pkg := kindPackage(k.Open)
		rel, ok := strings.CutPrefix(pkg, module+"gateway/channel/")
		if !ok || strings.Contains(rel, "/") {
			t.Errorf("channel %s is defined in %s, not a package of its own under gateway/channel", k.Name, pkg)
			continue
		}
		dir := filepath.Join("..", "channel", rel)
		if _, err := os.Stat(dir); err != nil {
			t.Fatal(err)
		}
		if !runsContract(t, dir) {
			t.Errorf("channel %s: no test in %s runs channeltest.Run", k.Name, dir)
		}
	}
	if len(All) < 4 {
		t.Fatalf("%d channels registered", len(All))
	}
}
