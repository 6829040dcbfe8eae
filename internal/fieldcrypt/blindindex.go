package fieldcrypt

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"unicode"
)

// KindPhone is the blind-index kind whose values are normalized to digits and a leading
// "+", so "+86 138-1234-5678" and "+8613812345678" index alike.
const KindPhone = "phone"

// BlindIndex is a keyed HMAC-SHA256 of kind and the normalized value, for exact-match
// lookups of encrypted fields. The kind separates domains: equal values of different
// kinds give different indexes. See Normalize for what counts as equal.
func (k *KeyRing) BlindIndex(kind, value string) []byte {
	k.mu.RLock()
	mac := hmac.New(sha256.New, k.indexKey)
	k.mu.RUnlock()
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write([]byte(Normalize(kind, value)))
	return mac.Sum(nil)
}

// Normalize is the form a value is indexed in: full-width ASCII folded to ASCII,
// surrounding space trimmed, lower-cased; for KindPhone only the digits and a leading
// "+" are kept.
func Normalize(kind, value string) string {
	s := strings.ToLower(strings.TrimSpace(foldWidth(value)))
	if kind != KindPhone {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// foldWidth maps full-width forms (U+FF01–U+FF5E) and the ideographic space to ASCII, as
// typed by Chinese input methods ("１３８" for "138").
func foldWidth(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		case unicode.IsSpace(r):
			return ' '
		}
		return r
	}, s)
}
