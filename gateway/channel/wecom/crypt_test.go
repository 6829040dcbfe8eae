package wecom

import (
	"strings"
	"testing"
)

func TestWeComCryptRoundTripAndTamper(t *testing.T) {
	c, err := newCrypt("tok", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "corp")
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"", "a", strings.Repeat("长消息", 200)} {
		enc, err := c.encrypt([]byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.decrypt(enc)
		if err != nil || string(got) != msg {
			t.Fatalf("round trip of %d bytes: %q, %v", len(msg), got, err)
		}
	}
	other, _ := newCrypt("tok", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "another-corp")
	enc, _ := other.encrypt([]byte("hi"))
	if _, err := c.decrypt(enc); err == nil {
		t.Fatal("a message for another corp decrypted")
	}
	for _, bad := range []string{"", "not base64!", "AAAA", enc[:len(enc)-8] + "AAAAAAA="} {
		if _, err := c.decrypt(bad); err == nil {
			t.Errorf("decrypt(%q) succeeded", bad)
		}
	}
	if _, err := newCrypt("tok", "short", "corp"); err == nil {
		t.Fatal("short EncodingAESKey accepted")
	}
}
