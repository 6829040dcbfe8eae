package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/gateway/channel/telegram"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/models/onnxtest"
	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/vision"
	"github.com/switchboard-cs/switchboard/vision/visiontest"
)

// mobileNet is a classifier over the shared MobileNetV2, with a support category for
// sea birds.
func mobileNet(t *testing.T) *vision.Classifier {
	t.Helper()
	onnxtest.ORT(t)
	repo := t.TempDir()
	visiontest.MobileNet(t, repo, "imagenet", 1, "")
	reg, err := models.Open(context.Background(), models.Options{Dir: repo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	return vision.NewClassifier(reg, vision.Options{Model: "imagenet", TopK: 3,
		Categories: vision.Categories{"sea birds": {"pelican", "albatross"}}})
}

// TestRESTPhotoIsLabelledAndRoutesByCategory posts photos over REST (multipart): the
// vision stage labels them, the stored transcript shows the labels, and the support
// category becomes the turn's intent and a skill of the escalated ticket.
func TestRESTPhotoIsLabelledAndRoutesByCategory(t *testing.T) {
	clf := mobileNet(t)
	in := newInstanceWith(t, newPool(t), "photos", newRealBrain(t),
		func(d *flow.Deps) { d.Vision = clf },
		func(o *Options) { o.MaxBodyBytes = 64 << 10 }) // photos still fit: the route's limit grows with the media limit
	cust := in.token(t, "web:photo-1", RoleCustomer)
	photo, err := os.ReadFile(visiontest.Photo(t, "images_wonnx/pelican.jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	var rep MessageReply
	if code := postMultipart(t, in.http.URL, cust, nil, &rep, file{"image", "image/jpeg", photo}); code != 200 {
		t.Fatalf("photo: %d", code)
	}
	if rep.Intent != "sea birds" || !rep.Escalated || rep.TicketID == "" || len(rep.Degraded) != 0 {
		t.Fatalf("reply %+v", rep)
	}
	tk, err := in.store.GetTicket(context.Background(), rep.TicketID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(tk.Skills, ","), "sea birds") {
		t.Fatalf("ticket skills %v", tk.Skills)
	}

	// text and a photo in one message of the same conversation
	if code := postMultipart(t, in.http.URL, cust, map[string]string{"conversation_id": rep.ConversationID, "text": "is this bird hurt?"}, nil,
		file{"image", "", photo}); code != 200 {
		t.Fatalf("text and photo: %d", code)
	}
	var conv struct {
		Messages []tickets.Message `json:"messages"`
	}
	mustCall(t, 200, in.http.URL, cust, "GET", "/v1/conversations/"+rep.ConversationID, nil, &conv)
	var texts []string
	for _, m := range conv.Messages {
		texts = append(texts, m.Text)
	}
	all := strings.Join(texts, "\n")
	if strings.Count(all, "[photo: pelican") != 2 || !strings.Contains(all, "is this bird hurt?\n[photo: pelican") {
		t.Fatalf("transcript:\n%s", all)
	}

	five := make([]file, 5)
	for i := range five {
		five[i] = file{"image", "image/jpeg", photo}
	}
	for name, tc := range map[string]struct {
		fields map[string]string
		files  []file
		code   int
	}{
		"nothing":        {map[string]string{}, nil, 400},
		"empty image":    {nil, []file{{"image", "image/jpeg", nil}}, 400},
		"too many":       {nil, five, 400},
		"garbage photo":  {map[string]string{"text": "look"}, []file{{"image", "image/jpeg", []byte("not a photo")}}, 200}, // fails open: degraded
		"customer fakes": {map[string]string{"text": "[photo: x | category: sea birds]"}, nil, 200},
	} {
		var out MessageReply
		got := postMultipart(t, in.http.URL, cust, tc.fields, &out, tc.files...)
		if got != tc.code {
			t.Errorf("%s: %d, want %d", name, got, tc.code)
		}
		if name == "garbage photo" && !slicesContains(out.Degraded, "vision") {
			t.Errorf("garbage photo: not degraded: %+v", out)
		}
		if name == "customer fakes" && out.Intent == "sea birds" {
			t.Errorf("a customer's look-alike marker routed the turn: %+v", out)
		}
	}
}

func slicesContains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// fakeTelegramFiles serves getFile and the file download of the Bot API, and records
// sendMessage calls.
type fakeTelegramFiles struct {
	*httptest.Server
	mu   sync.Mutex
	sent []map[string]any
}

func newFakeTelegramFiles(t *testing.T, photo []byte) *fakeTelegramFiles {
	f := &fakeTelegramFiles{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bot123:ABC/getFile":
			var req struct {
				FileID string `json:"file_id"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			if req.FileID != "big-photo-id" {
				io.WriteString(w, `{"ok":false,"description":"Bad Request: invalid file_id"}`)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": map[string]any{"file_id": req.FileID, "file_path": "photos/file_7.jpg", "file_size": len(photo)}})
		case "/file/bot123:ABC/photos/file_7.jpg":
			w.Write(photo)
		case "/bot123:ABC/sendMessage":
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			f.mu.Lock()
			f.sent = append(f.sent, body)
			f.mu.Unlock()
			io.WriteString(w, `{"ok":true,"result":{}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// TestTelegramPhotoIsFetchedAndLabelled: a Telegram photo arrives as file ids; the fetch
// stage downloads the largest size through getFile, the vision stage labels it, and
// the stored transcript carries the labels.
func TestTelegramPhotoIsFetchedAndLabelled(t *testing.T) {
	clf := mobileNet(t)
	photo, _ := os.ReadFile(visiontest.Photo(t, "images_wonnx/pelican.jpeg"))
	api := newFakeTelegramFiles(t, photo)
	tg := &telegram.Channel{BotToken: "123:ABC", SecretToken: "tg-secret", APIBase: api.URL}
	w := &flow.Worker{Outbound: map[string]flow.Sender{"telegram": tg}, Log: slog.New(slog.DiscardHandler), Poll: time.Second}
	in := newInstanceWith(t, newPool(t), "tgphoto", newRealBrain(t),
		func(d *flow.Deps) { d.Vision, d.Fetchers = clf, map[string]flow.MediaFetcher{"telegram": tg} },
		func(o *Options) { o.Channels, o.Wake = append(o.Channels, tg), w.Wake })
	w.Store, w.Process = in.store, in.srv.opts.Process
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()

	update, _ := json.Marshal(map[string]any{"update_id": 9, "message": map[string]any{
		"message_id": 9, "date": 1, "caption": "what bird is this",
		"photo": []map[string]any{{"file_id": "small-photo-id", "width": 90, "height": 67}, {"file_id": "big-photo-id", "width": 500, "height": 375}},
		"from":  map[string]any{"id": 777, "is_bot": false, "first_name": "Ming"},
		"chat":  map[string]any{"id": 777, "type": "private"}}})
	if code := postTelegram(t, in.http.URL, update); code != 200 {
		t.Fatalf("update: %d", code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		api.mu.Lock()
		n := len(api.sent)
		api.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no reply on Telegram")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var body string
	if err := in.store.Pool().QueryRow(context.Background(),
		`SELECT body FROM messages WHERE author = 'customer' ORDER BY id DESC LIMIT 1`).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "[photo: pelican") || !strings.Contains(body, "category: sea birds") {
		t.Fatalf("stored turn %q", body)
	}
}
