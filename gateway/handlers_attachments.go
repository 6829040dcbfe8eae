package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/vision"
)

// attachmentsRoute takes an agent's file: its body limit is Options.MaxAttachmentBytes.
const attachmentsRoute = "/v1/tickets/:id/attachments"

// attachmentRoutes owns the files and images agents send customers: POST
// /v1/tickets/:id/attachments (the holder of the ticket, or a supervisor) and GET
// /v1/conversations/:id/attachments/:attachment (whoever may read the conversation: its
// customer, and staff as for GET /v1/conversations/:id).
type attachmentRoutes struct {
	errorWriter
	tickets *tickets.Service
	files   attachmentFiles
	access  *conversationAccess
	media   *flow.MediaBudget // memory of uploads in flight (nil: unbounded)
	max     int64             // Options.MaxAttachmentBytes
	// reserve is the upload memory of a body (Server.reservationFor).
	reserve func(contentLength, most, part int64) int64
	wake    func() // tells the queue workers a reply waits to be delivered (nil: none)
}

// attachmentFiles reads an attachment's content.
type attachmentFiles interface {
	AttachmentContent(ctx context.Context, conversationID, id string) (tickets.Attachment, []byte, error)
}

// maxAttachmentName bounds a sanitized file name, in characters.
const maxAttachmentName = 100

// attachmentExts are the file name extensions that go with each type; a name without
// one of them gets the first.
var attachmentExts = map[string][]string{
	"image/jpeg":      {".jpg", ".jpeg"},
	"image/png":       {".png"},
	"image/gif":       {".gif"},
	"image/webp":      {".webp"},
	"application/pdf": {".pdf"},
	"text/plain":      {".txt", ".text", ".log", ".md", ".csv"},
}

// sendAttachment sends the customer of ticket :id a file: a multipart form with one part
// "file" (an image: JPEG, PNG, GIF or WebP; a PDF; plain UTF-8 text). Its type is what
// its content is, whatever the request says; its name is sanitized. The answer is the
// ticket and the message that shows the file (201).
func (r *attachmentRoutes) sendAttachment(c *gin.Context) {
	ctx := c.Request.Context()
	// Who may send is checked before the body is read.
	if err := r.tickets.CanWriteTo(ctx, actorOf(c), c.Param("id")); err != nil {
		r.fail(c, err)
		return
	}
	if !isMultipart(c) {
		r.fail(c, fmt.Errorf("%w: send the file as multipart/form-data, in a part named \"file\"", errBadRequest))
		return
	}
	hold, err := r.media.HoldUpload(ctx, r.reserve(c.Request.ContentLength, r.max+64<<10, r.max))
	if err != nil {
		r.fail(c, err)
		return
	}
	defer hold.Release()
	name, data, err := r.filePart(c)
	if err != nil {
		r.fail(c, err)
		return
	}
	file, err := inspectAttachment(name, data, r.max)
	if err != nil {
		r.fail(c, err)
		return
	}
	t, m, err := r.tickets.SendAttachment(ctx, actorOf(c), c.Param("id"), file)
	if err != nil {
		r.fail(c, err)
		return
	}
	if r.wake != nil {
		r.wake() // a push channel's customer gets the line saying what was sent
	}
	c.JSON(http.StatusCreated, gin.H{"ticket": t, "message": m})
}

// filePart reads the "file" part of the form (at most r.max bytes) and its file name.
func (r *attachmentRoutes) filePart(c *gin.Context) (string, []byte, error) {
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return "", nil, fmt.Errorf("%w: multipart: %v", errBadRequest, err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return "", nil, fmt.Errorf("%w: the form has no part named \"file\"", errBadRequest)
		}
		if err != nil {
			return "", nil, bodyError(err)
		}
		if part.FormName() != "file" {
			continue
		}
		data, err := readPart(part, r.max, r.max)
		if err != nil {
			return "", nil, partError("file", r.max, err)
		}
		if len(data) == 0 {
			return "", nil, fmt.Errorf("%w: the file is empty", errBadRequest)
		}
		return part.FileName(), data, nil
	}
}

// inspectAttachment decides what a file is from its content (the request's word is not
// taken): an image whose header reads (within the pixel limit of photos), a PDF, or
// plain UTF-8 text; anything else is refused. The name is sanitized for it.
func inspectAttachment(name string, data []byte, maxBytes int64) (tickets.NewAttachment, error) {
	typ, _, _ := strings.Cut(http.DetectContentType(data), ";")
	kind, ok := tickets.AttachmentKinds[typ]
	if !ok {
		return tickets.NewAttachment{}, fmt.Errorf("%w: the file's content is %s: send an image (JPEG, PNG, GIF, WebP), a PDF or plain text", errBadRequest, typ)
	}
	switch {
	case kind == "image":
		format, _, _, err := vision.CheckHeader(data, vision.Limits{MaxBytes: maxBytes})
		if err != nil {
			return tickets.NewAttachment{}, err
		}
		if "image/"+format != typ {
			return tickets.NewAttachment{}, fmt.Errorf("%w: the image reads as %s and as %s", errBadRequest, typ, format)
		}
	case typ == "text/plain" && !utf8.Valid(data):
		return tickets.NewAttachment{}, fmt.Errorf("%w: a text file must be UTF-8", errBadRequest)
	}
	return tickets.NewAttachment{Name: attachmentName(name, typ), MIME: typ, Data: data}, nil
}

// attachmentName makes a safe file name of what a client sent: the last path element,
// without control and formatting characters (bidirectional overrides among them),
// quotes, or characters file systems refuse; no leading dots; at most
// maxAttachmentName characters; ending in an extension of its type.
func attachmentName(name, typ string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		case strings.ContainsRune(`"<>:|?*`+"`", r), unicode.IsSpace(r):
			if r == ' ' {
				return ' '
			}
			return '_'
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.Trim(name, ". ")
	exts := attachmentExts[typ]
	ext := strings.ToLower(filepath.Ext(name))
	if !slices.Contains(exts, ext) {
		ext = exts[0]
	} else {
		name = strings.TrimSuffix(name, filepath.Ext(name))
	}
	stem := []rune(strings.TrimRight(name, ". "))
	if room := maxAttachmentName - utf8.RuneCountInString(ext); len(stem) > room {
		stem = stem[:room]
	}
	if len(stem) == 0 {
		stem = []rune("attachment")
	}
	return strings.TrimRight(string(stem), ". ") + ext
}

// downloadAttachment returns an attachment's content to whoever may read its
// conversation: an image to show inline, other files to save.
func (r *attachmentRoutes) downloadAttachment(c *gin.Context) {
	conv := c.Param("id")
	if err := r.access.mayReadConversation(c, conv); err != nil {
		r.fail(c, err)
		return
	}
	if r.files == nil {
		r.fail(c, fmt.Errorf("%w: no store", errUnavailable))
		return
	}
	a, data, err := r.files.AttachmentContent(c.Request.Context(), conv, c.Param("attachment"))
	if err != nil {
		r.fail(c, err)
		return
	}
	disposition, ctype := "attachment", a.MIME
	if a.Kind == "image" {
		disposition = "inline"
	}
	if ctype == "text/plain" {
		ctype += "; charset=utf-8"
	}
	c.Header("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": a.Name}))
	c.Header("Content-Security-Policy", "default-src 'none'; sandbox")
	c.Data(http.StatusOK, ctype, data)
}
