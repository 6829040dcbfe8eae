package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-cs/switchboard/asr/asrtest"
	"github.com/switchboard-cs/switchboard/internal/testenv"
)

// runWithEnv runs the CLI with env set for the test.
func runWithEnv(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	return execCLI(t, "", args...)
}

// TestASRTranscribeCommand transcribes a shared-data recording and an espeak-ng voice
// note (OGG/Opus) with the default engine (PocketSphinx) and checks the JSON fields.
func TestASRTranscribeCommand(t *testing.T) {
	dir := t.TempDir()
	ogg := asrtest.VoiceNote(t, "how do i reset my password")
	note := filepath.Join(dir, "note.ogg")
	os.WriteFile(note, ogg, 0o600)
	for _, tc := range []struct {
		file, want string
	}{
		{note, "how do i reset my password"},
		{testenv.SharedData(t, "speech_en_pocketsphinx_cards/001.wav"), "ten of clubs"},
	} {
		out, err := runWithEnv(t, map[string]string{"SWITCHBOARD_DATA_DIR": dir}, "asr", "transcribe", tc.file, "--json")
		if err != nil {
			if strings.Contains(err.Error(), "unavailable") && !testenv.InCI() {
				t.Skip(err)
			}
			t.Fatalf("%s: %v\n%s", tc.file, err, out)
		}
		var got struct {
			Text, Engine, Language string
			RTF                    float64 `json:"rtf"`
			AudioSeconds           float64 `json:"audio_seconds"`
			Result                 []struct{ Word string }
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%s: %v\n%s", tc.file, err, out)
		}
		if got.Text != tc.want || got.Engine != "pocketsphinx" || got.Language != "en" || got.RTF <= 0 || got.RTF > 2 || got.AudioSeconds < 1 || len(got.Result) == 0 {
			t.Errorf("%s: %+v", tc.file, got)
		}
	}
	for _, bad := range [][]string{{"asr", "transcribe", filepath.Join(dir, "missing.wav")}, {"asr", "transcribe", "/etc/hostname"},
		{"asr", "transcribe", note, "--lang", "xx"}} {
		if _, err := runWithEnv(t, map[string]string{"SWITCHBOARD_DATA_DIR": dir}, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, err := runWithEnv(t, map[string]string{"SWITCHBOARD_DATA_DIR": dir, "SWITCHBOARD_SPEECH_ENGINES": "en:whisper"}, "asr", "transcribe", note); err == nil ||
		!strings.Contains(err.Error(), "pocketsphinx or vosk") {
		t.Errorf("bad engine config: %v", err)
	}
}
