package lang

import "unicode"

// Lang is a language code returned by [Detect].
type Lang string

// The languages [Detect] can return.
const (
	// Chinese is returned when Han characters carry the text.
	Chinese Lang = "zh"
	// English is returned when Latin letters carry the text.
	English Lang = "en"
	// Undetermined is returned for empty text or text with neither script (digits,
	// punctuation, emoji, other scripts only).
	Undetermined Lang = "und"
)

// hanWeight is how many Latin letters one Han character counts for: a Chinese word is one
// to two characters where an English word is about five letters, so a Chinese sentence
// with an embedded English product name ("我的iPhone坏了") stays Chinese.
const hanWeight = 3

// Detect returns the language of text by script ratio: Han characters (weighted by
// hanWeight) against Latin letters. Ties and texts with neither script return
// Undetermined; so does a text where other letters (Cyrillic, Arabic, …) outnumber both.
func Detect(text string) Lang {
	var han, latin, other int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.Is(unicode.Latin, r):
			latin++
		case unicode.IsLetter(r):
			other++
		}
	}
	zh, en := han*hanWeight, latin
	switch {
	case zh == 0 && en == 0:
		return Undetermined
	case other > han+latin:
		return Undetermined
	case zh > en:
		return Chinese
	case en > zh:
		return English
	default:
		return Undetermined
	}
}
