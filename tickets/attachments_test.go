package tickets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestSendAttachment: alice sends a PDF to the customer of the ticket she holds, over a
// push channel: the content is stored encrypted and opens again, the conversation gets a
// line with the name redacted that carries the attachment wherever messages are read,
// the channel's outbox gets the line as written (channels send text only), the ticket
// waits on the customer, and the send is audited with the content's hash. Others, empty
// content and types outside the list are refused; erasing the customer removes the file.
func TestSendAttachment(t *testing.T) {
	ts := newTestService(t)
	ctx := context.Background()
	seedAdmin(t, ts)
	if _, err := ts.SetAgentStatus(ctx, "alice", AgentOnline, -1); err != nil {
		t.Fatal(err)
	}
	in, err := ts.store.RecordInbound(ctx, Inbound{Channel: "telegram", ChannelMessageID: "m1", CustomerRef: "tg:77",
		Text: "send me the invoice", ReplyTo: json.RawMessage(`{"chat_id":77}`)})
	if err != nil {
		t.Fatal(err)
	}
	// the bot answered the turn (an agent's reply waits behind the turns sent before it)
	if err := ts.store.CompleteTurn(ctx, "telegram", "m1", 0, nil); err != nil {
		t.Fatal(err)
	}
	tk, _, err := ts.CreateTicket(ctx, botActor, NewTicket{Customer: Customer{PseudonymousID: "tg:77"}, ConversationID: in.ConversationID, Subject: "invoice"})
	if err != nil || tk.AssigneeID != "alice" {
		t.Fatalf("ticket %+v, %v", tk, err)
	}
	pdf := []byte("%PDF-1.4\nsecret invoice body 4242\n%%EOF\n")
	for _, c := range []struct {
		name  string
		actor Actor
		file  NewAttachment
		want  error
	}{
		{"not hers", Actor{ID: "bob"}, NewAttachment{Name: "a.pdf", MIME: "application/pdf", Data: pdf}, ErrForbidden},
		{"empty", Actor{ID: "alice"}, NewAttachment{Name: "a.pdf", MIME: "application/pdf"}, ErrInvalid},
		{"html", Actor{ID: "alice"}, NewAttachment{Name: "a.html", MIME: "text/html", Data: []byte("<p>")}, ErrInvalid},
		{"no name", Actor{ID: "alice"}, NewAttachment{Name: " ", MIME: "application/pdf", Data: pdf}, ErrInvalid},
	} {
		if _, _, err := ts.SendAttachment(ctx, c.actor, tk.ID, c.file); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	got, msg, err := ts.SendAttachment(ctx, Actor{ID: "alice"}, tk.ID, NewAttachment{Name: "invoice-2024.pdf", MIME: "application/pdf", Data: pdf})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusPending || got.FirstResponseAt == nil {
		t.Errorf("ticket after the attachment: %s, first response %v", got.Status, got.FirstResponseAt)
	}
	want := &Attachment{Name: "invoice-[NUM].pdf", MIME: "application/pdf", Size: len(pdf), Kind: "file"}
	if diff := cmp.Diff(want, msg.Attachment, cmpopts.IgnoreFields(Attachment{}, "ID")); diff != "" {
		t.Errorf("attachment (-want +got):\n%s", diff)
	}
	if msg.Text != "[attachment: invoice-[NUM].pdf (PDF, 40 B)]" {
		t.Errorf("stored line %q", msg.Text)
	}
	msgs, err := ts.store.ListMessages(ctx, in.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	last := msgs[len(msgs)-1]
	if last.ID != msg.ID || last.Attachment == nil || last.Attachment.ID != msg.Attachment.ID {
		t.Errorf("the transcript's last message %+v does not carry the attachment", last)
	}
	if after, err := ts.store.MessagesAfter(ctx, in.ConversationID, msg.ID-1); err != nil || len(after) != 1 || after[0].Attachment == nil {
		t.Errorf("messages after: %+v, %v", after, err)
	}
	a, data, err := ts.store.AttachmentContent(ctx, in.ConversationID, msg.Attachment.ID)
	if err != nil || !bytes.Equal(data, pdf) || a.Kind != "file" {
		t.Errorf("content %q (%+v), %v", data, a, err)
	}
	if _, _, err := ts.store.AttachmentContent(ctx, tk.ID, msg.Attachment.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("the attachment through another conversation id: %v, want ErrNotFound", err)
	}
	var raw string
	if err := ts.store.Pool().QueryRow(ctx, `SELECT t::text FROM ticket_attachments t`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "secret invoice") || strings.Contains(raw, hex.EncodeToString([]byte("secret invoice"))) {
		t.Error("the attachment's content is stored in the clear")
	}
	// the push channel gets the line as the agent wrote it
	out, ok, err := ts.store.ClaimOutbound(ctx, 0, 0)
	if err != nil || !ok || out.MessageID != msg.ID {
		t.Fatalf("outbox %+v, %v, %v", out, ok, err)
	}
	if text, err := ts.store.OpenOriginal(out); err != nil || text != "[attachment: invoice-2024.pdf (PDF, 40 B)]" {
		t.Errorf("channel line %q, %v", text, err)
	}
	events, err := ts.store.AuditLog(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pdf)
	var audited bool
	for _, e := range events {
		if e.Action == "ticket.attachment" {
			audited = e.Actor == "alice" && e.Target == tk.ID && strings.Contains(string(e.Detail), hex.EncodeToString(sum[:]))
		}
	}
	if !audited {
		t.Error("the attachment was not audited by alice with its hash")
	}
	rep, err := ts.EraseCustomer(ctx, "dpo", "tg:77")
	if err != nil || rep.Rows["ticket_attachments"] != 1 {
		t.Errorf("erasure %+v, %v; want the attachment removed", rep, err)
	}
}

func TestAttachmentLine(t *testing.T) {
	for _, c := range []struct {
		name, mime string
		size       int
		want       string
	}{
		{"a.png", "image/png", 999, "[attachment: a.png (PNG, 999 B)]"},
		{"b.jpg", "image/jpeg", 12_345, "[attachment: b.jpg (JPEG, 12 KB)]"},
		{"c.txt", "text/plain", 3_400_000, "[attachment: c.txt (text, 3.4 MB)]"},
		{"d.pdf", "application/pdf", 1000, "[attachment: d.pdf (PDF, 1 KB)]"},
	} {
		if got := attachmentLine(c.name, c.mime, c.size); got != c.want {
			t.Errorf("attachmentLine(%q, %q, %d) = %q, want %q", c.name, c.mime, c.size, got, c.want)
		}
	}
}
