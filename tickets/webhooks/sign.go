package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Request headers. Timestamp and Signature are those of the inbound generic webhook
// channel (gateway/channel/webhook), which tickets may not import; Sign is its scheme.
const (
	HeaderTimestamp = "X-Switchboard-Timestamp"
	HeaderSignature = "X-Switchboard-Signature"
	HeaderEvent     = "X-Switchboard-Event"
	HeaderDelivery  = "X-Switchboard-Delivery"
)

// Sign returns the X-Switchboard-Signature value for body sent at ts (unix seconds):
// "sha256=" + hex(HMAC-SHA256(secret, ts + "." + body)). A receiver recomputes it over
// the raw body and the timestamp header, compares in constant time, and rejects
// timestamps more than a few minutes off.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether sig is body's signature at ts under secret.
func Verify(secret string, ts int64, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig))
}
