package main

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/internal/config"
)

// TestDoctorWithSpeechOff: with speech.engines empty (the slim image sets it so) doctor
// reports speech as off, and does not crash.
func TestDoctorWithSpeechOff(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Speech.Engines = nil
	c := checkSpeech(context.Background(), cfg)
	if c.Status != "optional" || !strings.Contains(c.Detail, "no speech engine configured") {
		t.Fatalf("speech check with no engines: %+v", c)
	}
}
