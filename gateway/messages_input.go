package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/internal/membudget"
	"github.com/switchboard-cs/switchboard/nlp/pii"
)

// Limits of one REST message.
const (
	// maxJSONMessageBytes caps a JSON message body (text and ids only): media come as
	// multipart parts, streamed, never as base64 in a JSON body held whole in memory.
	maxJSONMessageBytes = 64 << 10
	maxTextBytes        = 16 << 10 // the text, in JSON, multipart and web chat alike
	maxFieldBytes       = 16 << 10 // what is read of a multipart text field before refusing it
	maxIDBytes          = 200      // message_id and display_name
)

// mediaHint tells a client how media are sent.
const mediaHint = `send photos and voice notes as multipart/form-data: the text in a "text" part, files in "image" (at most 4) and "audio" (at most 2) parts`

// errMediaInJSON answers a JSON message that carries media.
var errMediaInJSON = fmt.Errorf("%w: a JSON message holds text and ids only; %s", errBadRequest, mediaHint)

// messageJSON is the JSON form of a REST message. Images and Audio are only read to
// refuse them with a clear answer.
type messageJSON struct {
	MessageID      string          `json:"message_id"`
	ConversationID string          `json:"conversation_id"`
	DisplayName    string          `json:"display_name"`
	Region         string          `json:"region"`
	Text           string          `json:"text"`
	Images         json.RawMessage `json:"images"`
	Audio          json.RawMessage `json:"audio"`
}

func isMultipart(c *gin.Context) bool {
	return strings.HasPrefix(c.GetHeader("Content-Type"), "multipart/form-data")
}

// maxMediaPart is the largest photo or voice note a message may carry.
func (mr *messageRoutes) maxMediaPart() int64 { return max(mr.maxImage, mr.maxAudio) }

// messageBodyLimit is the body limit of POST /v1/messages and what to tell a client
// over it: JSON is small; multipart may carry every photo and voice note at its limit.
func (mr *messageRoutes) messageBodyLimit(c *gin.Context) (int64, string) {
	if isMultipart(c) {
		return mr.multipartLimit(), ""
	}
	return min(maxJSONMessageBytes, mr.maxBody), "; " + mediaHint
}

// multipartLimit is the largest multipart message: every photo and voice note at its
// limit, and the text fields.
func (mr *messageRoutes) multipartLimit() int64 {
	return 64<<10 + maxImagesPerMessage*mr.maxImage + maxAudioPerMessage*mr.maxAudio
}

// readMessage decodes a REST message: JSON, or multipart read part by part. The hold
// (nil without media) keeps the media's memory reserved; the caller releases it once the
// turn is answered.
func (mr *messageRoutes) readMessage(c *gin.Context) (messageRequest, *membudget.Hold, error) {
	if !isMultipart(c) {
		in, err := mr.readJSONMessage(c)
		return in, nil, err
	}
	r := multipartMessage{mr: mr, c: c}
	if cl := c.Request.ContentLength; cl > maxJSONMessageBytes+maxTextBytes && mr.media != nil {
		// so long it must carry media: reserve before reading anything, so that a client
		// that waits for 100 Continue learns of a refusal before sending its body
		h, err := mr.media.HoldUpload(c.Request.Context(), mr.uploadReservation(cl))
		if err != nil {
			return messageRequest{}, nil, err
		}
		r.hold = h
	}
	err := r.read()
	if err != nil {
		r.hold.Release()
		return messageRequest{}, nil, err
	}
	return r.in, r.hold, nil
}

// readJSONMessage reads a small JSON message; its raw bytes must be UTF-8 (encoding/json
// would quietly turn invalid bytes into U+FFFD).
func (mr *messageRoutes) readJSONMessage(c *gin.Context) (messageRequest, error) {
	body, err := io.ReadAll(c.Request.Body)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return messageRequest{}, fmt.Errorf("%w: a JSON message is at most %d bytes; %s", errTooLarge, maxErr.Limit, mediaHint)
	case err != nil:
		return messageRequest{}, fmt.Errorf("%w: reading the body: %v", errBadRequest, err)
	case len(bytes.TrimSpace(body)) == 0:
		return messageRequest{}, fmt.Errorf("%w: a JSON body is required", errBadRequest)
	case !utf8.Valid(body):
		return messageRequest{}, fmt.Errorf("%w: the body is not valid UTF-8", errBadRequest)
	}
	var in messageJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return messageRequest{}, fmt.Errorf("%w: JSON body: %v", errBadRequest, err)
	}
	if dec.More() {
		return messageRequest{}, fmt.Errorf("%w: JSON body has trailing data", errBadRequest)
	}
	if present(in.Images) || present(in.Audio) {
		return messageRequest{}, errMediaInJSON
	}
	return messageRequest{MessageID: in.MessageID, ConversationID: in.ConversationID, DisplayName: in.DisplayName, Region: in.Region, Text: in.Text}, nil
}

func present(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null"
}

// multipartMessage reads a multipart message part by part: text fields up to their
// limits, each photo or voice note up to its own limit into memory reserved before the
// first of them is read (the body's length, plus room for the copy of one part).
type multipartMessage struct {
	mr   *messageRoutes
	c    *gin.Context
	in   messageRequest
	hold *membudget.Hold
	used int64 // media bytes read
}

func (r *multipartMessage) read() error {
	mr, err := r.c.Request.MultipartReader()
	if err != nil {
		return fmt.Errorf("%w: multipart: %v", errBadRequest, err)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return bodyError(err)
		}
		err = r.part(part.FormName(), part.Header.Get("Content-Type"), part)
		part.Close()
		if err != nil {
			return err
		}
	}
}

// part reads one part into the message.
func (r *multipartMessage) part(name, mime string, body io.Reader) error {
	switch name {
	case "image", "audio":
		return r.media(name, mime, body)
	case "message_id", "conversation_id", "display_name", "region", "text":
		limit := int64(maxFieldBytes)
		if name == "text" {
			limit = maxTextBytes
		}
		data, err := readPart(body, limit, limit)
		if err != nil {
			return partError(name, limit, err)
		}
		field := map[string]*string{"message_id": &r.in.MessageID, "conversation_id": &r.in.ConversationID,
			"display_name": &r.in.DisplayName, "region": &r.in.Region, "text": &r.in.Text}[name]
		*field = string(data)
		return nil
	}
	return fmt.Errorf("%w: unknown part %q (want text, image, audio, message_id, conversation_id, display_name, region)", errBadRequest, name)
}

// media reads a photo or voice note, reserving the message's media memory first.
func (r *multipartMessage) media(name, mime string, body io.Reader) error {
	limit, count, most := r.mr.maxImage, len(r.in.Images), maxImagesPerMessage
	if name == "audio" {
		limit, count, most = r.mr.maxAudio, len(r.in.Audio), maxAudioPerMessage
	}
	if count >= most {
		return fmt.Errorf("%w: at most %d images and %d voice notes per message", errBadRequest, maxImagesPerMessage, maxAudioPerMessage)
	}
	if r.hold == nil && r.mr.media != nil {
		h, err := r.mr.media.HoldUpload(r.c.Request.Context(), r.mr.uploadReservation(r.c.Request.ContentLength))
		if err != nil {
			return err
		}
		r.hold = h
	}
	room := limit
	if r.hold != nil {
		room = (r.hold.Size() - r.used) / 2 // the part, and its copy while it is joined
	}
	data, err := readPart(body, limit, room)
	if err != nil {
		return partError(name, limit, err)
	}
	r.used += int64(len(data))
	part := mediaPart{Data: data, MIME: mime}
	if name == "image" {
		r.in.Images = append(r.in.Images, part)
	} else {
		r.in.Audio = append(r.in.Audio, part)
	}
	return nil
}

// uploadReservation is the media memory a multipart message reserves: its length (the
// media cannot be more) plus room for the copy of one part while it is joined; without a
// length, the route's limit (at most the whole upload budget: a larger message then
// fails when it outgrows what it got).
func (mr *messageRoutes) uploadReservation(contentLength int64) int64 {
	return mr.reservationFor(contentLength, mr.multipartLimit(), mr.maxMediaPart())
}

// reservationFor is the upload memory of a body of contentLength bytes (unknown: up to
// most) whose largest part may be part bytes.
func (mr *messageRoutes) reservationFor(contentLength, most, part int64) int64 {
	if contentLength > 0 {
		return contentLength + min(contentLength, part)
	}
	n := most + part
	if mr.media != nil {
		n = min(n, mr.media.UploadSize())
	}
	return n
}

// errPartTooLarge and errNoRoom are readPart's refusals.
var (
	errPartTooLarge = errors.New("part over its limit")
	errNoRoom       = errors.New("part over the memory reserved")
)

// readPart reads r up to limit bytes (errPartTooLarge beyond) and up to room bytes
// (errNoRoom beyond) in chunks, then joins them into one exact slice: no buffer grows by
// doubling, and nothing is held beyond what was read.
func readPart(r io.Reader, limit, room int64) ([]byte, error) {
	chunk := min(256<<10, limit+1, room+1)
	var chunks [][]byte
	var n int64
	for {
		buf := make([]byte, chunk)
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			chunks = append(chunks, buf[:k])
			n += int64(k)
		}
		switch {
		case n > limit:
			return nil, errPartTooLarge
		case n > room:
			return nil, errNoRoom
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return join(chunks, n), nil
		case err != nil:
			return nil, err
		}
	}
}

func join(chunks [][]byte, n int64) []byte {
	if len(chunks) == 1 {
		return bytes.Clone(chunks[0]) // not the chunk's spare capacity
	}
	out := make([]byte, 0, n)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out
}

// partError explains why a part could not be read.
func partError(name string, limit int64, err error) error {
	switch {
	case errors.Is(err, errPartTooLarge):
		return fmt.Errorf("%w: part %q is over %d bytes", errTooLarge, name, limit)
	case errors.Is(err, errNoRoom):
		return fmt.Errorf("%w: the message's media are more than the memory reserved for them; send a Content-Length header, or fewer or smaller files", errTooLarge)
	}
	return bodyError(err)
}

// bodyError maps a failed read of the request body: over the body limit is 413, a
// malformed multipart body 400.
func bodyError(err error) error {
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return fmt.Errorf("%w: the body is over %d bytes", errTooLarge, maxErr.Limit)
	}
	return fmt.Errorf("%w: multipart: %v", errBadRequest, err)
}

// checkText validates what a customer typed (REST and web chat): the text at most
// maxTextBytes (413 beyond, as a multipart text part), every field valid UTF-8, ids and
// names short.
func checkText(in messageRequest) error {
	if len(in.Text) > maxTextBytes {
		return fmt.Errorf("%w: the text is %d bytes, at most %d", errTooLarge, len(in.Text), maxTextBytes)
	}
	for name, v := range map[string]string{"text": in.Text, "message_id": in.MessageID, "display_name": in.DisplayName,
		"conversation_id": in.ConversationID} {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: %s is not valid UTF-8", errBadRequest, name)
		}
	}
	if len(in.MessageID) > maxIDBytes || len(in.DisplayName) > maxIDBytes || strings.ContainsRune(in.MessageID, 0) {
		return fmt.Errorf("%w: message_id and display_name are at most %d bytes (message_id without NUL)", errBadRequest, maxIDBytes)
	}
	if _, ok := pii.Region(in.Region); in.Region != "" && !ok {
		return fmt.Errorf("%w: region %.8q is not a region with phone numbers (want ISO 3166-1 alpha-2 such as \"HK\" or \"GB\")", errBadRequest, in.Region)
	}
	return nil
}
