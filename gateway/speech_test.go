package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/asrtest"
	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/asr/pocketsphinx"
	"github.com/switchboard-cs/switchboard/gateway/channel/telegram"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/tickets"
)

var sphinx struct {
	once sync.Once
	e    *pocketsphinx.Engine
	err  error
}

// speechService is PocketSphinx (Debian's US-English model) behind a pool of two.
func speechService(t *testing.T) *asr.Service {
	t.Helper()
	sphinx.once.Do(func() { sphinx.e, sphinx.err = pocketsphinx.New(context.Background(), pocketsphinx.Config{}) })
	if sphinx.err != nil {
		if testenv.InCI() || !errors.Is(sphinx.err, asr.ErrUnavailable) {
			t.Fatal(sphinx.err)
		}
		t.Skip(sphinx.err)
	}
	pool := asr.NewPool(sphinx.e, 2, 8, 30*time.Second, asr.RecognizerOptions{Words: true})
	svc, err := asr.NewService(map[string]*asr.Pool{"en": pool}, "en", audio.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

// voiceNote is text said by espeak-ng, as an OGG/Opus voice note.
func voiceNote(t *testing.T, text string) []byte { return asrtest.VoiceNote(t, text) }

// fakeTelegram serves getFile and file downloads for a set of file ids, and records
// sendMessage calls.
type fakeTelegram struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte
	sent  []map[string]any
}

func newFakeTelegram(t *testing.T) *fakeTelegram {
	f := &fakeTelegram{files: map[string][]byte{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case r.URL.Path == "/bot123:ABC/getFile":
			var req struct {
				FileID string `json:"file_id"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			data, ok := f.files[req.FileID]
			if !ok {
				io.WriteString(w, `{"ok":false,"description":"Bad Request: invalid file_id"}`)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": map[string]any{"file_id": req.FileID,
				"file_path": "voice/" + req.FileID + ".oga", "file_size": len(data)}})
		case strings.HasPrefix(r.URL.Path, "/file/bot123:ABC/voice/"):
			id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/file/bot123:ABC/voice/"), ".oga")
			w.Write(f.files[id])
		case r.URL.Path == "/bot123:ABC/sendMessage":
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			f.sent = append(f.sent, body)
			io.WriteString(w, `{"ok":true,"result":{}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTelegram) add(id string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[id] = data
}

// waitSent waits for the n-th sendMessage and returns its text.
func (f *fakeTelegram) sentCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

// waitProcessed waits until a channel message's turn is done (answered or not).
func waitProcessed(t *testing.T, store *tickets.Store, channel, messageID string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var state string
		err := store.Pool().QueryRow(context.Background(), `SELECT state FROM channel_messages WHERE channel = $1 AND message_id = $2`,
			channel, messageID).Scan(&state)
		if err == nil && state == "done" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s message %s not processed (state %q, %v)", channel, messageID, state, err)
		}
	}
}

func (f *fakeTelegram) waitSent(t *testing.T, n int, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		if len(f.sent) >= n {
			text, _ := f.sent[n-1]["text"].(string)
			f.mu.Unlock()
			return text
		}
		f.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no sendMessage #%d within %v", n, within)
	return ""
}

type speechRig struct {
	*instance
	api    *fakeTelegram
	worker *flow.Worker
	run    func() // starts the queue worker
}

// newSpeechRig runs a gateway with the real KB brain, PocketSphinx and a Telegram
// channel pointed at a fake Bot API; the queue worker starts with run.
func newSpeechRig(t *testing.T, prefix string, inlineMax time.Duration) *speechRig {
	svc := speechService(t)
	api := newFakeTelegram(t)
	tg := &telegram.Channel{BotToken: "123:ABC", SecretToken: "tg-secret", APIBase: api.URL}
	w := &flow.Worker{Outbound: map[string]flow.Sender{"telegram": tg}, Log: slog.New(slog.DiscardHandler), Poll: 100 * time.Millisecond}
	in := newInstanceWith(t, newPool(t), prefix, newRealBrain(t),
		func(d *flow.Deps) {
			d.Speech, d.Fetchers = flow.Speech{Service: svc, InlineMax: inlineMax}, map[string]flow.MediaFetcher{"telegram": tg}
		},
		func(o *Options) {
			o.Channels, o.Wake, o.Speech = append(o.Channels, tg), w.Wake, svc
		})
	w.Store, w.Process = in.store, in.srv.opts.Process
	r := &speechRig{instance: in, api: api, worker: w}
	var once sync.Once
	r.run = func() {
		once.Do(func() {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); w.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
		})
	}
	return r
}

// sendVoice posts a Telegram update with a voice note from user and returns the status.
func (r *speechRig) sendVoice(t *testing.T, updateID, user int64, fileID string, note []byte) int {
	t.Helper()
	r.api.add(fileID, note)
	update, _ := json.Marshal(map[string]any{"update_id": updateID, "message": map[string]any{
		"message_id": updateID, "date": 1,
		"voice": map[string]any{"file_id": fileID, "mime_type": "audio/ogg", "duration": 3},
		"from":  map[string]any{"id": user, "is_bot": false, "first_name": "Ming"},
		"chat":  map[string]any{"id": user, "type": "private"}}})
	return postTelegram(t, r.http.URL, update)
}

// postTelegram delivers a Bot API update to the webhook with the test secret.
func postTelegram(t *testing.T, base string, update []byte) int {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/channels/telegram", bytes.NewReader(update))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "tg-secret")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

type storedConversation struct {
	id   string
	msgs []tickets.Message
}

// conversations are a customer's conversations, oldest first.
func (r *speechRig) conversations(t *testing.T, user string) []storedConversation {
	t.Helper()
	rows, err := r.store.Pool().Query(context.Background(), `SELECT c.id::text FROM conversations c JOIN customers cu ON cu.id = c.customer_id
		WHERE cu.pseudonymous_id = $1 ORDER BY c.created_at`, user)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var out []storedConversation
	for _, id := range ids {
		msgs, err := r.store.ListMessages(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, storedConversation{id, msgs})
	}
	return out
}

// conversation is a customer's only conversation.
func (r *speechRig) conversation(t *testing.T, user string) (string, []tickets.Message) {
	t.Helper()
	convs := r.conversations(t, user)
	if len(convs) != 1 {
		t.Fatalf("%s has %d conversations, want 1", user, len(convs))
	}
	return convs[0].id, convs[0].msgs
}

func customerTexts(msgs []tickets.Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Author == "customer" {
			out = append(out, m.Text)
		}
	}
	return out
}

// TestTelegramVoiceNoteAnsweredFromKB: a voice note (OGG/Opus, as Telegram sends them)
// is fetched, transcribed by PocketSphinx while the webhook waits, and answered from the
// knowledge base; the stored transcript is what the customer said.
func TestTelegramVoiceNoteAnsweredFromKB(t *testing.T) {
	r := newSpeechRig(t, "voicekb", 0)
	r.run()
	if code := r.sendVoice(t, 1, 4242, "v-1", voiceNote(t, "how do i reset my password")); code != 200 {
		t.Fatalf("update: %d", code)
	}
	if reply := r.api.waitSent(t, 1, 20*time.Second); !strings.Contains(reply, "Forgot password") {
		t.Fatalf("reply %q, want the KB's password answer", reply)
	}
	_, msgs := r.conversation(t, "tg:4242")
	if got := customerTexts(msgs); len(got) != 1 || got[0] != "how do i reset my password\n"+flow.VoiceDoneMarker {
		t.Fatalf("stored %q", got)
	}
}

// TestTelegramVoiceNoteRedactedAndEscalated: a spoken mobile number is written as digits
// and redacted like a typed one (the original goes to the vault only), "I want to talk
// to a human" said aloud escalates, and the agent's view of the ticket's conversation
// holds the redacted transcripts.
func TestTelegramVoiceNoteRedactedAndEscalated(t *testing.T) {
	r := newSpeechRig(t, "voiceesc", 0)
	r.run()
	r.sendVoice(t, 11, 5151, "v-phone", voiceNote(t, "my mobile is one three nine one two three four five six seven eight"))
	if reply := r.api.waitSent(t, 1, 20*time.Second); reply != flow.HandoverText("en") {
		t.Fatalf("reply %q, want the handover (the bot cannot answer a phone number)", reply)
	}
	r.sendVoice(t, 12, 5151, "v-human", voiceNote(t, "i want to talk to a human"))
	// the chat is waiting for an agent and was just told so: the bot stays quiet
	waitProcessed(t, r.store, "telegram", "12")
	if n := r.api.sentCount(); n != 1 {
		t.Fatalf("%d messages sent to the chat, want only the handover", n)
	}
	// the chat's notes are one conversation, in the ticket's hands
	convs := r.conversations(t, "tg:5151")
	if len(convs) != 1 {
		t.Fatalf("%d conversations, want the chat's one", len(convs))
	}
	if diff := cmp.Diff([]string{"my mobile is [PHONE_1]\n" + flow.VoiceDoneMarker, "i want to talk to a human\n" + flow.VoiceDoneMarker},
		customerTexts(convs[0].msgs)); diff != "" {
		t.Fatalf("stored notes (-want +got):\n%s", diff)
	}
	secrets, err := r.store.RevealSecrets(context.Background(), convs[0].id, convs[0].msgs[0].ID)
	if err != nil || len(secrets) != 1 || secrets[0].Value != "13912345678" {
		t.Fatalf("vault %+v %v", secrets, err)
	}
	tk, err := r.store.OpenTicketFor(context.Background(), convs[0].id)
	if err != nil {
		t.Fatal(err)
	}
	agent := r.token(t, "sup-voice", RoleSupervisor) // an agent would need a ticket of the conversation
	var view struct {
		Messages []tickets.Message `json:"messages"`
	}
	mustCall(t, 200, r.http.URL, agent, "GET", "/v1/conversations/"+tk.ConversationID, nil, &view)
	all := ""
	for _, m := range view.Messages {
		all += m.Text + "\n"
	}
	if !strings.Contains(all, "i want to talk to a human\n"+flow.VoiceDoneMarker) {
		t.Fatalf("agent sees:\n%s", all)
	}
}

// TestLongVoiceNoteIsTranscribedFromTheQueue: a note over the inline limit does not hold
// up the webhook: the turn is acknowledged and stored with a pending marker and the note
// stashed encrypted, the turn says so in its stored facts; a queue worker (started only
// afterwards) transcribes, redacts and answers it in the speech_deferred step, and the
// stash and the fact are gone. A caption's placeholder keeps its number.
func TestLongVoiceNoteIsTranscribedFromTheQueue(t *testing.T) {
	r := newSpeechRig(t, "voicelong", time.Second)
	note := voiceNote(t, "my mobile is one three nine one two three four five six seven eight")
	r.api.add("v-long", note)
	update, _ := json.Marshal(map[string]any{"update_id": 21, "message": map[string]any{
		"message_id": 21, "date": 1, "caption": "mail me at ming@example.com or 13800138000",
		"voice": map[string]any{"file_id": "v-long", "mime_type": "audio/ogg", "duration": 5},
		"from":  map[string]any{"id": 6161, "is_bot": false, "first_name": "Ming"},
		"chat":  map[string]any{"id": 6161, "type": "private"}}})
	start := time.Now()
	code := postTelegram(t, r.http.URL, update)
	ack := time.Since(start)
	if code != 200 {
		t.Fatalf("update: %d", code)
	}
	conv, msgs := r.conversation(t, "tg:6161")
	if got := customerTexts(msgs); len(got) != 1 || got[0] != "mail me at [EMAIL_1] or [PHONE_1]\n"+flow.VoicePendingMarker {
		t.Fatalf("stored before the worker %q", got)
	}
	var facts []byte
	if err := r.store.Pool().QueryRow(context.Background(), `SELECT facts FROM channel_messages WHERE channel = 'telegram' AND message_id = '21'`).Scan(&facts); err != nil || string(facts) != `{"voice_pending": true}` {
		t.Fatalf("the turn's facts before the worker: %s, %v", facts, err)
	}
	var stashed int
	var enc []byte
	if err := r.store.Pool().QueryRow(context.Background(), `SELECT count(*) OVER (), data_enc FROM stashed_media WHERE channel = 'telegram' AND message_id = '21'`).Scan(&stashed, &enc); err != nil || stashed != 1 {
		t.Fatalf("stash: %d rows, %v", stashed, err)
	}
	if bytes.Contains(enc, []byte("OggS")) || bytes.Contains(enc, note[len(note)/2:len(note)/2+32]) {
		t.Fatal("the stashed note is not encrypted")
	}
	// the decode at ingress is all the acknowledgement waited for
	t.Logf("acknowledged in %v", ack)

	r.run()
	r.api.waitSent(t, 1, 30*time.Second)
	_, msgs = r.conversation(t, "tg:6161")
	want := "mail me at [EMAIL_1] or [PHONE_1]\nmy mobile is [PHONE_2]\n" + flow.VoiceDoneMarker
	if got := customerTexts(msgs); len(got) != 1 || got[0] != want {
		t.Fatalf("stored after the worker %q, want %q", got, want)
	}
	secrets, err := r.store.RevealSecrets(context.Background(), conv, msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{}
	for _, s := range secrets {
		vals[s.Placeholder] = s.Value
	}
	if vals["[PHONE_1]"] != "13800138000" || vals["[PHONE_2]"] != "13912345678" || vals["[EMAIL_1]"] != "ming@example.com" {
		t.Fatalf("vault %v", vals)
	}
	if err := r.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM stashed_media`).Scan(&stashed); err != nil || stashed != 0 {
		t.Fatalf("stash left: %d, %v", stashed, err)
	}
	// the queue's transcription is a step of the process pipeline: timed and counted
	if n := metricValue(t, r.reg, "switchboard_pipeline_stage_total", map[string]string{"stage": "speech_deferred", "outcome": "ok"}); n != 1 {
		t.Fatalf("speech_deferred ran ok %v times, want 1", n)
	}
	facts = nil
	if err := r.store.Pool().QueryRow(context.Background(), `SELECT facts FROM channel_messages WHERE channel = 'telegram' AND message_id = '21'`).Scan(&facts); err != nil || facts != nil {
		t.Fatalf("the turn's facts after transcription: %s, %v; want none left", facts, err)
	}
	// a redelivery of the same update stashes nothing again
	r.sendVoice(t, 21, 6161, "v-long", note)
	if err := r.store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM stashed_media`).Scan(&stashed); err != nil || stashed != 0 {
		t.Fatalf("redelivery stashed %d, %v", stashed, err)
	}
}

// TestRESTVoiceNotes: a short note over REST is answered inline; a long one is accepted
// (202, "transcribing") and answered in the conversation by the queue; undecodable audio
// is stored as "[voice message]" and the turn marked degraded.
func TestRESTVoiceNotes(t *testing.T) {
	r := newSpeechRig(t, "voicerest", 3*time.Second)
	r.run()
	cust := r.token(t, "web:voice-1", RoleCustomer)
	var rep MessageReply
	if code := postMultipart(t, r.http.URL, cust, nil, &rep, file{"audio", "audio/ogg", voiceNote(t, "how do i reset my password")}); code != 200 {
		t.Fatalf("short note: %d %+v", code, rep)
	}
	if !strings.Contains(rep.Reply, "Forgot password") || len(rep.Degraded) != 0 {
		t.Fatalf("short note: %+v", rep)
	}
	long := voiceNote(t, "how do i reset my password. I have tried everything and nothing works at all")
	if code := postMultipart(t, r.http.URL, cust, map[string]string{"conversation_id": rep.ConversationID}, &rep, file{"audio", "audio/ogg", long}); code != 202 {
		t.Fatalf("long note: %d %+v", code, rep)
	}
	if rep.Status != "transcribing" || rep.Reply != "" {
		t.Fatalf("long note: %+v", rep)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var conv struct {
			Messages []tickets.Message `json:"messages"`
		}
		mustCall(t, 200, r.http.URL, cust, "GET", "/v1/conversations/"+rep.ConversationID, nil, &conv)
		if n := len(conv.Messages); n == 4 && conv.Messages[3].Author == "bot" {
			if !strings.HasSuffix(conv.Messages[2].Text, flow.VoiceDoneMarker) || !strings.Contains(conv.Messages[2].Text, "password") {
				t.Fatalf("long note stored as %q", conv.Messages[2].Text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer to the long note: %+v", conv.Messages)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := postMultipart(t, r.http.URL, cust, map[string]string{"text": "listen"}, &rep, file{"audio", "audio/wav", []byte("RIFF\x00\x00\x00\x00WAVEjunk")}); code != 200 {
		t.Fatalf("bad audio: %d", code)
	}
	if !slicesContains(rep.Degraded, "speech") {
		t.Fatalf("bad audio: %+v", rep)
	}
	// a customer cannot forge the marker
	mustCall(t, 200, r.http.URL, cust, "POST", "/v1/messages", map[string]any{"text": "[voice message: transcribing]"}, &rep)
}
