// Package pii is the redact stage of the message flow: every piece of customer text
// (typed, transcribed by asr, or read from an image) passes through a [Redactor] before
// it is persisted, logged, sent to an LLM or shown to an agent, and the pipeline fails
// closed when redaction fails.
//
// Detectors find e-mail addresses, phone numbers (Chinese mobile numbers with or without
// +86 / 0086 / 86, Chinese landlines with an area code, North American 3-3-4 numbers, and
// every other notation through libphonenumber, phones.go: "+"/"00" numbers valid for their
// country, national ones valid in the customer's region or one of the redactor's, and any
// 7–15 digits next to a phone cue), 18-digit Chinese resident identity numbers (身份证号,
// ISO 7064 MOD 11-2 check digit), bank card numbers (16–19 digits, Luhn; 12–19 after a
// card cue) and IP addresses. Each
// candidate passes a validator, and context rules reject order numbers, amounts, dates
// and times, so that "订单号 202311230001" or "¥1380.00" stay readable. Numbers are found
// with digit-boundary checks rather than \b, so Chinese text without spaces around
// numbers ("手机13812345678谢谢") works, and full-width digits count as digits.
//
// Further detectors: 15-digit legacy ID numbers (province code and birth date), passport
// numbers (Chinese E/G formats anywhere, other formats after a "passport"/"护照" cue),
// web addresses carrying a personal token, dates of birth and driving licence numbers
// after their cues (context_types.go), Hong Kong, Taiwan, Singapore and UK identity
// numbers by their check characters (national_ids.go),
// IBANs (MOD 97-10), US Social Security numbers (dashed, or plain after a cue), cards of
// 12–19 digits (Luhn and issuer prefix), North American 3-3-4 numbers, and English and
// Chinese person names and street addresses: by cue and shape, and, with WithTagger, by
// the sequence tagger of nlp/ner that `switchboard pii train` fits (tagger.go). A
// validated span wins over an overlapping name or address, which is cut short before it.
// eval.go scores the detectors on the presidio-research set and on generated Chinese text.
//
// Each span is replaced by a typed placeholder numbered per type in order of appearance;
// equal values (after normalization: "+86 138-1234-5678" equals "13812345678") share a
// placeholder within one call.
package pii
