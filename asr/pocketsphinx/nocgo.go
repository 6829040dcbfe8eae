//go:build !cgo

package pocketsphinx

import (
	"errors"
	"time"
)

// Without cgo PocketSphinx cannot be loaded: New and Check report asr.ErrUnavailable.

var errNoCgo = errors.New("built without cgo (CGO_ENABLED=0), so libpocketsphinx cannot be loaded")

func load(base, lib string) error                             { return errNoCgo }
func newDecoder(args []string) (*decoder, error)              { return nil, errNoCgo }
func probeDecoder(args []string, timeout time.Duration) error { return errNoCgo }

type decoder struct{}

type segment struct {
	word         string
	startF, endF int
	posterior    float64
}

func (d *decoder) free()                        {}
func (d *decoder) setGrammar(string) error      { return errNoCgo }
func (d *decoder) known(string) bool            { return false }
func (d *decoder) start(bool) error             { return errNoCgo }
func (d *decoder) end() error                   { return errNoCgo }
func (d *decoder) process([]int16, bool) error  { return errNoCgo }
func (d *decoder) hyp() string                  { return "" }
func (d *decoder) segments() ([]segment, error) { return nil, errNoCgo }
