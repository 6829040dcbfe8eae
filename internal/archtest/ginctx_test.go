package archtest

import (
	"fmt"
	"go/ast"
	"go/types"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// ginContextsAsContexts type-checks the gateway and returns every call that passes a
// *gin.Context where a context.Context is expected. gin reuses a Context for the next
// request once the handler returns, and a callee may keep its context beyond the call
// (pgxpool opens connections in the background with it), so handlers must pass
// c.Request.Context() instead.
func ginContextsAsContexts(t *testing.T, overlay map[string][]byte) []string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &packages.Config{Dir: root, Overlay: overlay,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo}
	pkgs, err := packages.Load(cfg, "./gateway/...")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("type-check %s: %v", p.PkgPath, e)
		}
		for _, f := range p.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sig, ok := p.TypesInfo.TypeOf(call.Fun).(*types.Signature)
				if !ok {
					return true
				}
				for i, arg := range call.Args {
					if i >= sig.Params().Len() || !isNamed(sig.Params().At(i).Type(), "context", "Context") {
						continue
					}
					if ptr, ok := p.TypesInfo.TypeOf(arg).(*types.Pointer); ok && isNamed(ptr.Elem(), "github.com/gin-gonic/gin", "Context") {
						pos := p.Fset.Position(arg.Pos())
						rel, _ := filepath.Rel(root, pos.Filename)
						out = append(out, fmt.Sprintf("%s:%d passes a *gin.Context as a context.Context", filepath.ToSlash(rel), pos.Line))
					}
				}
				return true
			})
		}
	}
	slices.Sort(out)
	return out
}

func isNamed(t types.Type, pkg, name string) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkg && n.Obj().Name() == name
}

// TestHandlersPassTheRequestContext: no gateway code hands a pooled gin.Context to
// something that takes a context.Context (the race detector caught one such read after
// its request had ended).
func TestHandlersPassTheRequestContext(t *testing.T) {
	if v := ginContextsAsContexts(t, nil); len(v) > 0 {
		t.Errorf("pass c.Request.Context() instead:\n%s", strings.Join(v, "\n"))
	}
}

// TestGinContextGuardCatchesAPlantedCall plants a handler that passes its gin.Context on.
func TestGinContextGuardCatchesAPlantedCall(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(root, "gateway", "zz_planted.go")
	src := "package gateway\n\nimport (\n\t\"context\"\n\n\t\"github.com/gin-gonic/gin\"\n)\n\nfunc planted(c *gin.Context) { _ = context.Cause(c) }\n"
	got := ginContextsAsContexts(t, map[string][]byte{planted: []byte(src)})
	if want := []string{"gateway/zz_planted.go:9 passes a *gin.Context as a context.Context"}; !slices.Equal(got, want) {
		t.Errorf("with a planted call: %v, want %v", got, want)
	}
}
