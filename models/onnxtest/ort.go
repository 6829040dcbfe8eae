package onnxtest

import (
	"testing"

	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models/ort"
)

// ORT loads ONNX Runtime (ort.FindLibrary's search: $SWITCHBOARD_ORT_LIB, then
// .deps/onnxruntime above the working directory, where scripts/fetch-onnxruntime.sh puts
// it) and returns the library's path. The test skips when it cannot, or fails when
// testenv.InCI. (It lives here, beside the graphs it runs, so that internal/testenv
// needs no domain package.)
func ORT(t testing.TB) string {
	t.Helper()
	path, err := ort.Init("")
	if err != nil {
		testenv.Missing(t, err.Error()+" (make test fetches it with scripts/fetch-onnxruntime.sh)")
		return ""
	}
	return path
}
