package gateway

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"testing"
)

// file is one file part of a multipart message.
type file struct {
	field, mime string
	data        []byte
}

// multipartBody encodes fields (in a fixed order: ids, then text) and files as
// multipart/form-data.
func multipartBody(t testing.TB, fields map[string]string, files ...file) ([]byte, string) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, k := range []string{"message_id", "conversation_id", "display_name", "region", "text"} {
		if v, ok := fields[k]; ok {
			w.WriteField(k, v)
		}
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+f.field+`"; filename="upload"`)
		if f.mime != "" {
			h.Set("Content-Type", f.mime)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(f.data)
	}
	w.Close()
	return body.Bytes(), w.FormDataContentType()
}

// postMultipart posts a multipart message and decodes the answer into out (a
// MessageReply, an ErrorBody …); it returns the status.
func postMultipart(t testing.TB, base, token string, fields map[string]string, out any, files ...file) int {
	t.Helper()
	body, ct := multipartBody(t, fields, files...)
	req, err := http.NewRequest("POST", base+"/v1/messages", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return exchange(t, req, token, out)
}
