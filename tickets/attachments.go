package tickets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Files and images agents send customers. The content is kept encrypted in
// ticket_attachments (never passed to redaction: it is not text); the conversation gets
// a message whose text is a line saying what was sent ("[attachment: invoice.pdf (PDF,
// 12 KB)]", the name redacted in the stored transcript), and that message carries the
// attachment's description (Message.Attachment) wherever messages are read. A pull
// channel's customer (web chat, REST) downloads the content; a push channel gets the
// line, as written, through the outbox (channels send text only).

// AttachmentKinds are the types an attachment may have (as sniffed from its content, not
// as declared), and how a customer's client shows each: an image inline, a file as a
// download.
var AttachmentKinds = map[string]string{
	"image/jpeg":      "image",
	"image/png":       "image",
	"image/gif":       "image",
	"image/webp":      "image",
	"application/pdf": "file",
	"text/plain":      "file",
}

// Attachment describes a file or image an agent sent, as its message carries it.
type Attachment struct {
	ID   string `json:"id"`
	Name string `json:"name"` // sanitized and redacted
	MIME string `json:"mime"`
	Size int    `json:"size"`
	Kind string `json:"kind"` // "image" or "file" (AttachmentKinds)
}

// NewAttachment is what SendAttachment sends: a sanitized file name, the type sniffed
// from the content (a key of AttachmentKinds), and the content.
type NewAttachment struct {
	Name string
	MIME string
	Data []byte
}

// maxAttachmentName bounds a file name in bytes (the gateway keeps names to 100
// characters).
const maxAttachmentName = 400

func attachmentAAD(id, conversationID string) []byte {
	return []byte("ticket_attachments.data_enc:" + id + ":" + conversationID)
}

// attachmentLine is how an attachment reads as text: in the transcript, and on a channel
// that cannot carry files.
func attachmentLine(name, mime string, size int) string {
	kind := strings.ToUpper(strings.TrimPrefix(strings.TrimPrefix(mime, "image/"), "application/"))
	if mime == "text/plain" {
		kind = "text"
	}
	return fmt.Sprintf("[attachment: %s (%s, %s)]", name, kind, byteSize(size))
}

// byteSize is n bytes as people read it: "900 B", "12 KB", "3.4 MB".
func byteSize(n int) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.0f KB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1000/1000)
}

// SendAttachment sends a file or image to the customer of ticket id, which the actor must
// hold (or a supervisor): like a reply it marks the first response and leaves the ticket
// pending on the customer. The content is stored encrypted; the file name is redacted
// like a reply's text; the send is audited (ticket.attachment, with the content's
// SHA-256, type and size).
func (s *Service) SendAttachment(ctx context.Context, actor Actor, id string, a NewAttachment) (Ticket, Message, error) {
	kind, ok := AttachmentKinds[a.MIME]
	switch {
	case !ok:
		return Ticket{}, Message{}, fmt.Errorf("attachment type %q: send an image (JPEG, PNG, GIF, WebP), a PDF or plain text: %w", a.MIME, ErrInvalid)
	case len(a.Data) == 0:
		return Ticket{}, Message{}, fmt.Errorf("the attachment is empty: %w", ErrInvalid)
	case strings.TrimSpace(a.Name) == "" || len(a.Name) > maxAttachmentName || !utf8.ValidString(a.Name):
		return Ticket{}, Message{}, fmt.Errorf("attachment name: 1 to %d bytes of UTF-8: %w", maxAttachmentName, ErrInvalid)
	}
	name, err := s.redact(ctx, a.Name)
	if err != nil {
		return Ticket{}, Message{}, err
	}
	cur, err := s.store.GetTicket(ctx, id)
	if err != nil {
		return Ticket{}, Message{}, err
	}
	if err := s.mustHold(actor, &cur); err != nil { // before the content is sealed
		return Ticket{}, Message{}, err
	}
	att := Attachment{ID: uuid.NewString(), Name: name, MIME: a.MIME, Size: len(a.Data), Kind: kind}
	sealed, err := s.store.crypt.Encrypt(a.Data, attachmentAAD(att.ID, cur.ConversationID))
	if err != nil {
		return Ticket{}, Message{}, fmt.Errorf("seal attachment: %w", err)
	}
	sum := sha256.Sum256(a.Data)
	msg := Message{Author: "agent:" + actor.ID, Text: attachmentLine(name, a.MIME, att.Size), ConversationID: cur.ConversationID}
	_, t, err := s.store.UpdateTicket(ctx, id, func(tx pgx.Tx, t *Ticket) error {
		if err := s.mustHold(actor, t); err != nil {
			return err
		}
		t.answered(s.Now())
		var err error
		if msg, err = InsertMessageTx(ctx, tx, msg); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ticket_attachments (id, conversation_id, ticket_id, message_id, author,
				filename, mime, size_bytes, data_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			att.ID, msg.ConversationID, t.ID, msg.ID, msg.Author, att.Name, att.MIME, att.Size, sealed); err != nil {
			return mapPgErr(err, "attachment")
		}
		// A push channel gets the line as written; a pull channel's customer reads it so.
		if err := s.store.QueueReplyTx(ctx, tx, msg, attachmentLine(a.Name, a.MIME, att.Size)); err != nil {
			return err
		}
		return s.store.AppendAudit(ctx, tx, actor.ID, "ticket.attachment", id, map[string]any{"attachment": att.ID,
			"message": msg.ID, "mime": att.MIME, "size": att.Size, "sha256": hex.EncodeToString(sum[:])})
	})
	if err != nil {
		return Ticket{}, Message{}, err
	}
	s.afterWrite(ctx, t)
	s.store.AnnounceMessage(ctx, msg.ConversationID, msg.ID, msg.Author)
	msg.Attachment = &att
	return t, msg, nil
}

// AttachmentContent returns attachment id of conversationID with its content, opened
// (ErrNotFound when the conversation has no such attachment). The caller checks that
// the reader may read the conversation.
func (s *Conversations) AttachmentContent(ctx context.Context, conversationID, id string) (Attachment, []byte, error) {
	if uuid.Validate(id) != nil || uuid.Validate(conversationID) != nil {
		return Attachment{}, nil, fmt.Errorf("attachment %q: %w", id, ErrNotFound)
	}
	var a Attachment
	var enc []byte
	err := s.primary.QueryRow(ctx, `SELECT id, filename, mime, size_bytes, data_enc FROM ticket_attachments
		WHERE id = $1 AND conversation_id = $2`, id, conversationID).Scan(&a.ID, &a.Name, &a.MIME, &a.Size, &enc)
	if err != nil {
		return Attachment{}, nil, mapPgErr(err, "attachment "+id)
	}
	a.Kind = AttachmentKinds[a.MIME]
	data, err := s.crypt.Decrypt(enc, attachmentAAD(a.ID, conversationID))
	if err != nil {
		return Attachment{}, nil, fmt.Errorf("open attachment %s: %w", id, err)
	}
	return a, data, nil
}

// withAttachments sets Message.Attachment on the agents' messages of msgs (all of
// conversationID) that carry one.
func withAttachments(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, conversationID string, msgs []Message) error {
	var ids []int64
	for _, m := range msgs {
		if strings.HasPrefix(m.Author, "agent:") {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT message_id, id, filename, mime, size_bytes FROM ticket_attachments
		WHERE conversation_id = $1 AND message_id = ANY($2)`, conversationID, ids)
	if err != nil {
		return mapPgErr(err, "attachments")
	}
	byMessage := map[int64]Attachment{}
	var mid int64
	var a Attachment
	if _, err := pgx.ForEachRow(rows, []any{&mid, &a.ID, &a.Name, &a.MIME, &a.Size}, func() error {
		a.Kind = AttachmentKinds[a.MIME]
		byMessage[mid] = a
		return nil
	}); err != nil {
		return mapPgErr(err, "attachments")
	}
	for i := range msgs {
		if a, ok := byMessage[msgs[i].ID]; ok {
			msgs[i].Attachment = &a
		}
	}
	return nil
}
