package gateway

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/vision"
)

// tinyPNG is a 3×2 PNG.
func tinyPNG(t testing.TB) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.NRGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fileForm is a multipart form with one part "file" named name; it returns its type and body.
func fileForm(t testing.TB, part, name string, data []byte) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	f, err := w.CreateFormFile(part, name)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data)
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

// pngUpload is an agent's upload of a small PNG (the object cases' body).
func pngUpload(t *testing.T) (string, []byte) { return fileForm(t, "file", "photo.png", tinyPNG(t)) }

// upload posts a form to path as token; it decodes the answer into out and returns the status.
func upload(t *testing.T, base, token, path, ctype string, body []byte, out any) int {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	return exchange(t, req, token, out)
}

// sentAttachment is a PNG alice sent to ann: the conversation (:id) and the attachment.
func (r *objectRig) sentAttachment(t *testing.T) objectRef {
	t.Helper()
	o := r.heldTicket(t)
	var sent struct {
		Message tickets.Message `json:"message"`
	}
	ctype, body := pngUpload(t)
	if code := upload(t, r.http.URL, r.tokens["alice"], "/v1/tickets/"+o[":id"]+"/attachments", ctype, body, &sent); code != 201 {
		t.Fatalf("upload: %d", code)
	}
	return objectRef{":id": o["conv"], ":attachment": sent.Message.Attachment.ID}
}

// download GETs an attachment as token and returns the status, the headers and the body.
func download(t *testing.T, base, token, path string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestAgentSendsAttachments: alice sends ann, a web-chat customer, an image and a PDF of
// the ticket she holds: ann's open chat receives each as a message with the attachment,
// her transcript lists them, and she downloads them (the image inline, the PDF to save,
// as what their content is); another customer may not. Types are told by content, not by
// the name or the part's type; names are sanitized and redacted; an empty, oversized,
// HTML or binary file, and a JSON body, are refused with a reason; bob, who does not hold
// the ticket, is refused before his upload is read.
func TestAgentSendsAttachments(t *testing.T) {
	in := newInstanceWith(t, newPool(t), "files"+strings.ToLower(t.Name()), scriptedBrain{},
		func(o *Options) { o.MaxAttachmentBytes = 4 << 10 })
	base := in.http.URL
	sup, alice, bob := in.token(t, "sam", RoleSupervisor), in.token(t, "alice", RoleAgent), in.token(t, "bob", RoleAgent)
	ann, eve := in.token(t, "web:ann", RoleCustomer), in.token(t, "web:eve", RoleCustomer)
	mustCall(t, 200, base, sup, "PUT", "/v1/skill-groups/support", map[string]any{}, nil)
	mustCall(t, 200, base, sup, "PUT", "/v1/agents/alice", map[string]any{"name": "Alice", "groups": []string{"support"}, "capacity": 2}, nil)
	mustCall(t, 200, base, alice, "PUT", "/v1/me/status", map[string]any{"status": "online"}, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	chat := dialChat(t, ctx, base, ann, "")
	chat.say("I want a human please", "a1")
	esc := chat.until(func(f ChatFrame) bool { return f.Type == "reply" && f.Reply.Escalated })
	reply := esc[len(esc)-1].Reply
	path := "/v1/tickets/" + reply.TicketID + "/attachments"

	pic := tinyPNG(t)
	ctype, body := fileForm(t, "file", `C:\Users\ann\..\evil".html`, pic) // a PNG whatever its name says
	var sent struct {
		Ticket  tickets.Ticket  `json:"ticket"`
		Message tickets.Message `json:"message"`
	}
	if code := upload(t, base, alice, path, ctype, body, &sent); code != 201 {
		t.Fatalf("upload: %d", code)
	}
	want := &tickets.Attachment{Name: "evil_.html.png", MIME: "image/png", Size: len(pic), Kind: "image"}
	if diff := cmp.Diff(want, sent.Message.Attachment, cmpIgnoreID); diff != "" {
		t.Errorf("attachment (-want +got):\n%s", diff)
	}
	if sent.Ticket.Status != tickets.StatusPending {
		t.Errorf("ticket %s after the attachment, want pending", sent.Ticket.Status)
	}
	live := chat.until(func(f ChatFrame) bool { return f.Type == "message" && f.Attachment != nil })
	got := live[len(live)-1]
	if got.Author != "agent" || got.AuthorName != "Alice" || got.Attachment.ID != sent.Message.Attachment.ID {
		t.Errorf("ann's chat frame %+v", got)
	}
	pdf := []byte("%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n")
	ctype, body = fileForm(t, "file", "invoice for 13812345678.txt", pdf) // a PDF, named like text
	mustUpload := func(ctype string, body []byte) tickets.Message {
		t.Helper()
		if code := upload(t, base, alice, path, ctype, body, &sent); code != 201 {
			t.Fatalf("upload: %d", code)
		}
		return sent.Message
	}
	doc := mustUpload(ctype, body)
	if doc.Attachment.MIME != "application/pdf" || doc.Attachment.Kind != "file" || strings.Contains(doc.Attachment.Name, "13812345678") ||
		!strings.HasSuffix(doc.Attachment.Name, ".txt.pdf") || strings.Contains(doc.Text, "13812345678") {
		t.Errorf("pdf %+v (%q)", doc.Attachment, doc.Text)
	}

	// ann's transcript carries both; she downloads them
	var conv struct {
		Messages []CustomerMessage `json:"messages"`
	}
	mustCall(t, 200, base, ann, "GET", "/v1/conversations/"+reply.ConversationID, nil, &conv)
	var files []string
	for _, m := range conv.Messages {
		if m.Attachment != nil {
			files = append(files, m.Attachment.MIME)
		}
	}
	if diff := cmp.Diff([]string{"image/png", "application/pdf"}, files); diff != "" {
		t.Errorf("ann's transcript's attachments (-want +got):\n%s", diff)
	}
	get := "/v1/conversations/" + reply.ConversationID + "/attachments/"
	code, h, data := download(t, base, ann, get+sent.Message.Attachment.ID)
	if code != 200 || !bytes.Equal(data, pdf) || h.Get("Content-Type") != "application/pdf" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("pdf download: %d %v %q", code, h, data)
	}
	code, h, data = download(t, base, ann, get+got.Attachment.ID)
	if code != 200 || !bytes.Equal(data, pic) || h.Get("Content-Type") != "image/png" || !strings.HasPrefix(h.Get("Content-Disposition"), "inline;") {
		t.Errorf("image download: %d %v", code, h)
	}
	for _, who := range []string{eve, bob} {
		if code, _, data := download(t, base, who, get+got.Attachment.ID); code != 403 || bytes.Equal(data, pic) {
			t.Errorf("a stranger's download: %d", code)
		}
	}
	if code, _, _ := download(t, base, ann, get+"00000000-0000-0000-0000-000000000000"); code != 404 {
		t.Errorf("an unknown attachment: %d, want 404", code)
	}

	form := func(name string, data []byte) func() (string, []byte) {
		return func() (string, []byte) { return fileForm(t, "file", name, data) }
	}
	for _, c := range []struct {
		name   string
		who    string
		form   func() (string, []byte)
		status int
	}{
		{"json", alice, func() (string, []byte) { return "application/json", []byte(`{"file":"x"}`) }, 400},
		{"no file part", alice, func() (string, []byte) { return fileForm(t, "image", "a.png", pic) }, 400},
		{"empty", alice, form("a.txt", nil), 400},
		{"html", alice, form("a.txt", []byte("<html><script>x</script>")), 400},
		{"binary", alice, form("a.png", []byte("MZ\x90\x00\x03\x00\x00\x00")), 400},
		{"too large", alice, form("a.txt", bytes.Repeat([]byte("a"), 5<<10)), 413},
		{"not his", bob, form("a.png", pic), 403},
	} {
		var e ErrorBody
		ctype, body := c.form()
		if code := upload(t, base, c.who, path, ctype, body, &e); code != c.status || e.Error == "" {
			t.Errorf("%s: %d %+v, want %d with a reason", c.name, code, e, c.status)
		}
	}
	var log struct {
		Events []tickets.AuditEvent `json:"events"`
	}
	mustCall(t, 200, base, in.token(t, "audrey", RoleAuditor), "GET", "/v1/audit", nil, &log)
	var sends int
	for _, ev := range log.Events {
		if ev.Action == "ticket.attachment" && ev.Actor == "alice" {
			sends++
		}
	}
	if sends != 2 {
		t.Errorf("%d ticket.attachment events, want 2", sends)
	}
}

var cmpIgnoreID = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".ID" }, cmp.Ignore())

// TestAttachmentNames: what a client calls a file becomes a safe name that ends in an
// extension of its type.
func TestAttachmentNames(t *testing.T) {
	for _, c := range []struct{ in, typ, want string }{
		{"photo.PNG", "image/png", "photo.png"},
		{"photo.jpeg", "image/jpeg", "photo.jpeg"},
		{"../../etc/passwd", "text/plain", "passwd.txt"},
		{`C:\temp\report.pdf`, "application/pdf", "report.pdf"},
		{"invoice.exe", "application/pdf", "invoice.exe.pdf"},
		{".bashrc", "text/plain", "bashrc.txt"},
		{"", "image/gif", "attachment.gif"},
		{"...", "image/webp", "attachment.webp"},
		{"a\x00b\u202egnp.exe", "image/png", "abgnp.exe.png"},
		{"quote\"d<name>|?.txt", "text/plain", "quote_d_name___.txt"},
		{"tab\there.txt", "text/plain", "tabhere.txt"},
		{"发票 2024.pdf", "application/pdf", "发票 2024.pdf"},
		{strings.Repeat("长", 150) + ".txt", "text/plain", strings.Repeat("长", 96) + ".txt"},
		{"bad\xffutf8.txt", "text/plain", "badutf8.txt"},
	} {
		if got := attachmentName(c.in, c.typ); got != c.want {
			t.Errorf("attachmentName(%q, %s) = %q, want %q", c.in, c.typ, got, c.want)
		}
	}
}

// TestInspectAttachment: the type comes from the content, images must read, text must
// be UTF-8.
func TestInspectAttachment(t *testing.T) {
	pic := tinyPNG(t)
	for _, c := range []struct {
		name string
		data []byte
		mime string
		err  error
	}{
		{"png", pic, "image/png", nil},
		{"pdf", []byte("%PDF-1.7\n"), "application/pdf", nil},
		{"text", []byte("hello, 你好\n"), "text/plain", nil},
		{"latin-1 text", []byte("caf\xe9 au lait"), "", errBadRequest},
		{"html", []byte("<!DOCTYPE html><p>hi"), "", errBadRequest},
		{"svg is text, never an image", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), "text/plain", nil},
		{"zip", []byte("PK\x03\x04rest"), "", errBadRequest},
		{"broken png", append(append([]byte{}, pic[:20]...), 0, 0, 0), "", vision.ErrImage},
	} {
		got, err := inspectAttachment("x", c.data, 1<<20)
		if !errors.Is(err, c.err) || got.MIME != c.mime {
			t.Errorf("%s: %q, %v; want %q, %v", c.name, got.MIME, err, c.mime, c.err)
		}
	}
}
