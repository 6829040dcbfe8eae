package kb

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var fuzzFormats = []string{"faq-csv", "faq-json", "markdown", "html", "text"}

// FuzzParseDocument parses arbitrary files as each ingest format: errors are the
// package's sentinels; parsing is deterministic; a document has a title, FAQ entries are
// trimmed and complete, extracted HTML text is collapsed; and prose splits into trimmed
// chunks of at most ChunkSize characters.
func FuzzParseDocument(f *testing.F) {
	f.Add(uint8(0), "faq.csv", []byte(faqCSV))
	f.Add(uint8(0), "faq.csv", []byte("问题,答案\n\"a\"\"b\",c\nonly one\n"))
	f.Add(uint8(1), "faq.json", []byte(`[{"question":"Q?","answer":"A."},{"Q":"x","问题":"y","答案":"z"},{"q":1}]`))
	f.Add(uint8(1), "broken.json", []byte(`[{"question":`))
	f.Add(uint8(0), "broken.csv", []byte("q,a\n\"open"))
	f.Add(uint8(2), "refund.md", []byte(refundMD))
	f.Add(uint8(2), "blank.md", []byte("#   \n\ntext"))
	f.Add(uint8(3), "shipping.html", []byte(shippingHTML))
	f.Add(uint8(3), "t.html", []byte("<title> </title><p>a<br>b</p><template>x</template>"))
	f.Add(uint8(4), "notes.txt", []byte(strings.Repeat("我们支持顺丰快递，一般两天送达。", 60)))
	f.Add(uint8(4), "bad.txt", []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, format uint8, name string, data []byte) {
		name = strings.ToValidUTF8(name, "?") // titles fall back to file names, which the ingest reads as UTF-8
		if name == "" {
			name = "file"
		}
		kind := fuzzFormats[int(format)%len(fuzzFormats)]
		doc, err := parseDocument(kind, name, data)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrBadDocument) {
				t.Fatalf("error outside the sentinels: %v", err)
			}
			return
		}
		if again, _ := parseDocument(kind, name, data); !cmp.Equal(doc, again) {
			t.Fatalf("parsed twice differently:\n%s", cmp.Diff(doc, again))
		}
		if doc.Title == "" || !utf8.ValidString(doc.Title) || !utf8.ValidString(doc.Text) {
			t.Fatalf("title %q, text %q", doc.Title, doc.Text)
		}
		for _, e := range doc.FAQ {
			if e.Question == "" || e.Answer == "" || e.Question != strings.TrimSpace(e.Question) || e.Answer != strings.TrimSpace(e.Answer) {
				t.Fatalf("FAQ entry %+v", e)
			}
		}
		if doc.Kind == "html" && (doc.Text != strings.TrimSpace(doc.Text) || strings.Contains(doc.Text, "\n\n\n")) {
			t.Fatalf("HTML text %q", doc.Text)
		}
		if doc.Kind == "faq" || len(doc.Text) > 64<<10 {
			return
		}
		chunks, err := splitProse(doc.Text)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			if c == "" || c != strings.TrimSpace(c) || utf8.RuneCountInString(c) > ChunkSize {
				t.Fatalf("chunk of %d characters: %q", utf8.RuneCountInString(c), c)
			}
		}
		if len(chunks) == 0 && strings.ContainsFunc(doc.Text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			t.Fatalf("%q gave no chunks", doc.Text)
		}
	})
}
