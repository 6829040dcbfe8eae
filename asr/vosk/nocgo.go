//go:build !cgo

package vosk

import (
	"errors"
	"time"
)

// Without cgo libvosk cannot be loaded: New and Check report asr.ErrUnavailable.

var errNoCgo = errors.New("built without cgo (CGO_ENABLED=0), so libvosk cannot be loaded")

func load(path string, logLevel int) error                             { return errNoCgo }
func probeModel(dir string, logLevel int, timeout time.Duration) error { return errNoCgo }
func newModel(dir string) (*model, error)                              { return nil, errNoCgo }
func newKaldiRec(*model, int, string, bool) (*kaldiRec, error)         { return nil, errNoCgo }

type model struct{}

func (m *model) free()             {}
func (m *model) known(string) bool { return false }

type kaldiRec struct{}

func (k *kaldiRec) accept([]int16) (bool, error) { return false, errNoCgo }
func (k *kaldiRec) partial() string              { return "" }
func (k *kaldiRec) result() string               { return "" }
func (k *kaldiRec) final() string                { return "" }
func (k *kaldiRec) free()                        {}
