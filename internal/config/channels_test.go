package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestChannelSettings: a channel's settings are the keys of its section, and a channel
// plugin without a section takes its own from channels.plugins (YAML or the variable).
func TestChannelSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "switchboard.yaml")
	yaml := "channels:\n  telegram:\n    secret_token: s3\n  plugins:\n    line:\n      channel_secret: ls\n      token: lt\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		path    string
		environ []string
		want    map[string]string // line's settings
	}{
		{"yaml", file, nil, map[string]string{"channel_secret": "ls", "token": "lt"}},
		{"env", "", []string{`SWITCHBOARD_CHANNELS_PLUGINS={"line":{"token":"et"}}`}, map[string]string{"token": "et"}},
		{"none", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(tc.path, tc.environ)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Channels.Settings()
			if diff := cmp.Diff(tc.want, got["line"]); diff != "" {
				t.Errorf("line's settings (-want +got):\n%s", diff)
			}
			if got["telegram"]["api_base"] != "https://api.telegram.org" || got["wecom"]["encoding_aes_key"] != "" {
				t.Errorf("typed sections: %v", got)
			}
			if tc.path != "" && got["telegram"]["secret_token"] != "s3" {
				t.Errorf("telegram's secret_token from the file: %q", got["telegram"]["secret_token"])
			}
		})
	}
	if _, err := Load("", []string{"SWITCHBOARD_CHANNELS_PLUGINS=line"}); err == nil {
		t.Error("a plugins variable that is not JSON loaded")
	}
}

// TestIntentSkills: intents that always escalate come with their skills from YAML or the
// environment; an empty skill is refused.
func TestIntentSkills(t *testing.T) {
	file := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(file, []byte("routing:\n  intent_skills:\n    lost_or_stolen_card: [cards, fraud]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]string{"lost_or_stolen_card": {"cards", "fraud"}}, cfg.Routing.IntentSkills); diff != "" {
		t.Errorf("intent skills (-want +got):\n%s", diff)
	}
	cfg, err = Load("", []string{`SWITCHBOARD_ROUTING_INTENT_SKILLS={"refund":["billing"]}`})
	if err != nil || !cmp.Equal(cfg.Routing.IntentSkills, map[string][]string{"refund": {"billing"}}) {
		t.Errorf("from the environment: %v, %v", cfg.Routing.IntentSkills, err)
	}
	if _, err := Load("", []string{`SWITCHBOARD_ROUTING_INTENT_SKILLS={"refund":[""]}`}); err == nil {
		t.Error("an empty skill loaded")
	}
}

// TestMinConfidenceByLanguage: per-language thresholds come from YAML or the environment;
// one outside [0, 1] or without a language is refused.
func TestMinConfidenceByLanguage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "switchboard.yaml")
	if err := os.WriteFile(file, []byte("kb:\n  min_confidence_by_language:\n    zh: 0.3\n    en: 0.4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.KB.MinConfidenceByLanguage; got["zh"] != 0.3 || got["en"] != 0.4 {
		t.Errorf("from YAML: %v", got)
	}
	cfg, err = Load("", []string{`SWITCHBOARD_KB_MIN_CONFIDENCE_BY_LANGUAGE={"zh":0.2}`})
	if err != nil || !cmp.Equal(cfg.KB.MinConfidenceByLanguage, map[string]float64{"zh": 0.2}) {
		t.Errorf("from the environment: %v, %v", cfg.KB.MinConfidenceByLanguage, err)
	}
	for _, bad := range []string{`{"zh":1.5}`, `{"":0.3}`, `{"zh":-0.1}`} {
		if _, err := Load("", []string{"SWITCHBOARD_KB_MIN_CONFIDENCE_BY_LANGUAGE=" + bad}); err == nil {
			t.Errorf("%s loaded", bad)
		}
	}
}
