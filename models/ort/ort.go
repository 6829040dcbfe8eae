// Package ort is Switchboard's wrapper around ONNX Runtime (yalue/onnxruntime_go): it finds
// and loads the shared library once per process, opens sessions on ONNX files and runs
// them with plain Go slices in and out, so that the stages using a model (the dense text
// encoder in nlp/embed, vision over the model registry) never handle native values.
//
// The library is loaded at run time (dlopen), so binaries build and run without it; only
// opening a session needs it. scripts/fetch-onnxruntime.sh puts a copy under
// .deps/onnxruntime, where FindLibrary looks.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// ErrNoRuntime means the ONNX Runtime shared library could not be found or loaded.
var ErrNoRuntime = errors.New("ort: ONNX Runtime not available")

// EnvLibrary names the environment variable that points at the shared library.
const EnvLibrary = "SWITCHBOARD_ORT_LIB"

var (
	initMu   sync.Mutex
	initPath string
	initErr  error
)

// Init loads the ONNX Runtime library at lib (FindLibrary's answer when lib is empty) and
// creates the process-wide environment. Later calls return the first call's result; a
// later call naming a different library is an error, since one process holds one
// runtime.
func Init(lib string) (string, error) {
	initMu.Lock()
	defer initMu.Unlock()
	if initPath != "" || initErr != nil {
		if initErr == nil && lib != "" && !samePath(lib, initPath) {
			return initPath, fmt.Errorf("ort: runtime already loaded from %s, not %s", initPath, lib)
		}
		return initPath, initErr
	}
	path, err := FindLibrary(lib)
	if err != nil {
		initErr = err
		return "", err
	}
	onnx.SetSharedLibraryPath(path)
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
		initErr = fmt.Errorf("%w: load %s: %v", ErrNoRuntime, path, err)
		return "", initErr
	}
	_ = onnx.DisableTelemetry()
	initPath = path
	return path, nil
}

// Version is the loaded runtime's version, or "" before Init succeeded.
func Version() string {
	initMu.Lock()
	defer initMu.Unlock()
	if initPath == "" {
		return ""
	}
	return onnx.GetVersion()
}

// FindLibrary returns the ONNX Runtime shared library to load: explicit when set (it must
// exist), else $SWITCHBOARD_ORT_LIB, else the newest libonnxruntime.so.* under a
// .deps/onnxruntime folder in the working directory or one of its parents or beside the
// executable's folder, else a system copy in the usual library folders.
func FindLibrary(explicit string) (string, error) {
	for _, p := range []string{explicit, os.Getenv(EnvLibrary)} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: %v", ErrNoRuntime, err)
		}
		return p, nil
	}
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, ".deps", "onnxruntime"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(exe)), ".deps", "onnxruntime"))
	}
	dirs = append(dirs, "/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu")
	for _, d := range dirs {
		matches, _ := filepath.Glob(filepath.Join(d, "libonnxruntime.so*"))
		sort.Sort(sort.Reverse(sort.StringSlice(matches)))
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
				return m, nil
			}
		}
	}
	return "", fmt.Errorf("%w: no libonnxruntime.so found (run scripts/fetch-onnxruntime.sh or set %s)", ErrNoRuntime, EnvLibrary)
}

func samePath(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	return err1 == nil && err2 == nil && ra == rb
}
