package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/asr/asreval"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/vision/video"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

// TestTelegramVideoNoteIsLabelledAndTranscribed: a Telegram video note — a pelican on
// screen, a customer asking how to reset a password — arrives through the webhook, is fetched from
// the Bot API, its frames labelled by the vision model and its sound transcribed; the
// escalated ticket's message shows both.
func TestTelegramVideoNoteIsLabelledAndTranscribed(t *testing.T) {
	needPostgres(t)
	onnxtest.ORT(t)
	if err := video.Available(); err != nil {
		testenv.Missing(t, err.Error())
	}
	wav, err := asreval.SayAt("how do i reset my password", 140)
	if err != nil {
		testenv.Missing(t, err.Error())
	}
	dir := t.TempDir()
	speech, note := filepath.Join(dir, "speech.wav"), filepath.Join(dir, "note.mp4")
	if err := os.WriteFile(speech, wav, 0o600); err != nil {
		t.Fatal(err)
	}
	mux := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-loop", "1", "-i", visiontest.Photo(t, "images_wonnx/pelican.jpeg"),
		"-i", speech, "-c:v", "libx264", "-tune", "stillimage", "-pix_fmt", "yuv420p", "-vf", "scale=320:-2", "-c:a", "aac", "-shortest", "-y", note)
	if out, err := mux.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	clip, err := os.ReadFile(note)
	if err != nil {
		t.Fatal(err)
	}
	// The Bot API: getFile and the file's download; sendMessage is answered.
	const token = "123:video-test"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bot" + token + "/getFile":
			fmt.Fprint(w, `{"ok":true,"result":{"file_id":"vn-1","file_path":"videos/vn-1.mp4"}}`)
		case "/file/bot" + token + "/videos/vn-1.mp4":
			w.Write(clip)
		default:
			fmt.Fprint(w, `{"ok":true,"result":{}}`)
		}
	}))
	defer api.Close()

	cfg, _ := faqServeConfig(t)
	cfg.Channels.Telegram.BotToken, cfg.Channels.Telegram.SecretToken, cfg.Channels.Telegram.APIBase = token, "tg-secret", api.URL
	visiontest.MobileNet(t, cfg.ModelsDir(), "imagenet", 1, "")
	cfg.Speech.Engines = []string{"en:pocketsphinx"}
	sup, _ := execCLIErr(t, "token", "sam", "--role", "supervisor")
	sup = strings.TrimSpace(sup)
	base, stop := startServe(t, cfg)
	defer stop()

	update := `{"update_id": 901, "message": {"message_id": 5, "date": 1, "from": {"id": 42, "is_bot": false, "first_name": "Ming"},
		"chat": {"id": 42, "type": "private"}, "video_note": {"file_id": "vn-1", "length": 320, "duration": 2}}}`
	req, _ := http.NewRequest("POST", base+"/v1/channels/telegram", strings.NewReader(update))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "tg-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}
	var list struct {
		Tickets []struct {
			ID string `json:"id"`
		} `json:"tickets"`
	}
	var detail struct {
		Messages []struct{ Author, Text string } `json:"messages"`
	}
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		request(t, sup, "GET", base+"/v1/tickets?view=open", "", &list)
		if len(list.Tickets) > 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the video note opened no ticket within 60 s")
		}
	}
	request(t, sup, "GET", base+"/v1/tickets/"+list.Tickets[0].ID, "", &detail)
	if len(detail.Messages) == 0 {
		t.Fatal("no messages")
	}
	// The words are PocketSphinx's (no word model here: "how do i …" comes out, the rest
	// often not); what matters is that the sound reached the recognizer and the frames
	// the classifier.
	got := detail.Messages[0].Text
	words, marker, _ := strings.Cut(got, "\n")
	if !strings.HasPrefix(words, "how do i") || !strings.HasPrefix(marker, "[video: pelican") {
		t.Errorf("stored message %q: want the transcript, then the pelican label", got)
	}
	b, _ := json.Marshal(detail.Messages)
	t.Logf("messages: %s", b)
}
