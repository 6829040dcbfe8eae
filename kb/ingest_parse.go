package kb

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tmc/langchaingo/textsplitter"
	"golang.org/x/net/html"
)

// Chunking parameters for prose: about 500 characters with 50 of overlap.
const (
	ChunkSize    = 500
	ChunkOverlap = 50
)

// ErrBadDocument means a file of a supported format could not be parsed.
var ErrBadDocument = errors.New("kb: malformed document")

// faqEntry is one FAQ entry: its question, the other ways customers ask it, and the
// answer. Each phrasing is indexed as a chunk of its own, all sharing the answer (the
// retriever lets the hits of one answer vote together).
type faqEntry struct {
	Question   string
	Alternates []string
	Answer     string
}

// phrasings are the entry's question and its distinct alternates, in order.
func (e faqEntry) phrasings() []string {
	out := []string{e.Question}
	seen := map[string]bool{strings.ToLower(e.Question): true}
	for _, a := range e.Alternates {
		if k := strings.ToLower(a); a != "" && !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

// document is a parsed file: FAQ entries or prose with a title.
type document struct {
	Kind  string // "faq", "markdown", "html" or "text"
	Title string
	Text  string
	FAQ   []faqEntry
}

// formatOf maps a file extension to the document kind; "" means unsupported.
func formatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return "faq-csv"
	case ".json":
		return "faq-json"
	case ".md", ".markdown":
		return "markdown"
	case ".html", ".htm":
		return "html"
	case ".txt", ".text":
		return "text"
	}
	return ""
}

// parseDocument parses data by format; name is the file name used as a fallback title.
func parseDocument(format, name string, data []byte) (document, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if !utf8.Valid(data) {
		return document{}, fmt.Errorf("%w: %s is not UTF-8", ErrUnsupported, name)
	}
	switch format {
	case "faq-csv":
		faq, err := parseFAQCSV(data)
		return document{Kind: "faq", Title: name, FAQ: faq}, err
	case "faq-json":
		faq, err := parseFAQJSON(data)
		return document{Kind: "faq", Title: name, FAQ: faq}, err
	case "markdown":
		return document{Kind: "markdown", Title: markdownTitle(string(data), name), Text: string(data)}, nil
	case "html":
		return parseHTML(data, name)
	case "text":
		return document{Kind: "text", Title: name, Text: string(data)}, nil
	}
	return document{}, fmt.Errorf("%w: %s", ErrUnsupported, name)
}

var (
	questionHeaders = []string{"question", "questions", "q", "query", "text", "问题", "问", "标准问"}
	answerHeaders   = []string{"answer", "answers", "a", "response", "reply", "category", "答案", "答", "回答"}
	// alternateHeaders name columns (and JSON fields) of other phrasings of the question;
	// a second question column (question2, "question 2", a repeated header) is one too.
	alternateHeaders = []string{"alternates", "alternate", "alternatives", "alternative", "alt", "paraphrases", "paraphrase",
		"variants", "variant", "similar", "similar_questions", "similar_question", "相似问", "相似问题", "扩展问"}
)

// isQuestionHeader reports whether a header names a question column, numbered or not
// ("question", "question2", "Question 2", "q_3").
func isQuestionHeader(h string) bool {
	return contains(questionHeaders, strings.TrimRight(strings.TrimRight(h, "0123456789"), " _-"))
}

// parseFAQCSV reads question,answer rows. A first row naming the columns (question /
// answer / 问题 / 答案 …) is a header that also picks the columns, and any further
// question columns (question2, alternates, paraphrase, 相似问 …) hold other phrasings of
// the question, one per cell; otherwise the first two columns are question and answer.
func parseFAQCSV(data []byte) ([]faqEntry, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: FAQ CSV: %w", ErrBadDocument, err)
	}
	qi, ai := 0, 1
	var alts []int
	if len(rows) > 0 {
		if q, a, more, ok := headerColumns(rows[0]); ok {
			qi, ai, alts, rows = q, a, more, rows[1:]
		}
	}
	var out []faqEntry
	for _, row := range rows {
		if len(row) <= max(qi, ai) {
			continue
		}
		e := faqEntry{Question: strings.TrimSpace(row[qi]), Answer: strings.TrimSpace(row[ai])}
		for _, i := range alts {
			if i < len(row) && strings.TrimSpace(row[i]) != "" {
				e.Alternates = append(e.Alternates, strings.TrimSpace(row[i]))
			}
		}
		if e.Question == "" && len(e.Alternates) > 0 { // only other phrasings given: the first leads
			e.Question, e.Alternates = e.Alternates[0], e.Alternates[1:]
		}
		if e.Question != "" && e.Answer != "" {
			out = append(out, e)
		}
	}
	return out, nil
}

// headerColumns finds the question and answer columns of a header row, and the columns
// of further phrasings.
func headerColumns(row []string) (qi, ai int, alts []int, ok bool) {
	qi, ai = -1, -1
	for i, cell := range row {
		c := strings.ToLower(strings.TrimSpace(cell))
		switch {
		case qi < 0 && isQuestionHeader(c):
			qi = i
		case ai < 0 && contains(answerHeaders, c):
			ai = i
		case isQuestionHeader(c) || contains(alternateHeaders, c):
			alts = append(alts, i)
		}
	}
	return qi, ai, alts, qi >= 0 && ai >= 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// parseFAQJSON reads an array of objects with question and answer fields (any of the
// header names parseFAQCSV accepts, case-insensitive). When an object has several, the
// earlier name in those lists wins (then the lower key), so a file always reads the same.
// Other phrasings come as lists ("questions": [...], "alternates": [...]) or as strings
// under the alternate names.
func parseFAQJSON(data []byte) ([]faqEntry, error) {
	var items []map[string]any
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("%w: FAQ JSON (want an array of {question, answer}): %w", ErrBadDocument, err)
	}
	var out []faqEntry
	for _, item := range items {
		e := faqEntry{Question: faqField(item, questionHeaders), Answer: faqField(item, answerHeaders),
			Alternates: faqPhrasings(item)}
		if e.Question == "" && len(e.Alternates) > 0 {
			e.Question, e.Alternates = e.Alternates[0], e.Alternates[1:]
		}
		if e.Question != "" && e.Answer != "" {
			out = append(out, e)
		}
	}
	return out, nil
}

// faqField is the first non-empty string field of item named by one of headers.
func faqField(item map[string]any, headers []string) string {
	keys := slices.Sorted(maps.Keys(item))
	for _, h := range headers {
		for _, k := range keys {
			if s, ok := item[k].(string); ok && strings.ToLower(k) == h && strings.TrimSpace(s) != "" {
				return strings.TrimSpace(s)
			}
		}
	}
	return ""
}

// faqPhrasings are the other phrasings of an item's question: the strings of its lists
// under question or alternate names, and its strings under alternate names, in key order.
func faqPhrasings(item map[string]any) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(item)) {
		name := strings.ToLower(k)
		alt, question := contains(alternateHeaders, name), isQuestionHeader(name)
		switch v := item[k].(type) {
		case string:
			if alt && strings.TrimSpace(v) != "" {
				out = append(out, strings.TrimSpace(v))
			}
		case []any:
			if !alt && !question {
				continue
			}
			for _, x := range v {
				if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
					out = append(out, strings.TrimSpace(s))
				}
			}
		}
	}
	return out
}

// markdownTitle returns the text of the first "# " heading, else fallback.
func markdownTitle(text, fallback string) string {
	for _, line := range strings.Split(text, "\n") {
		if t, ok := strings.CutPrefix(strings.TrimSpace(line), "# "); ok {
			return strings.TrimSpace(t)
		}
	}
	return fallback
}

// parseHTML extracts the visible text of an HTML page (scripts, styles and templates
// dropped, block elements on their own lines) and its <title>.
func parseHTML(data []byte, name string) (document, error) {
	root, err := html.Parse(bytes.NewReader(data))
	if err != nil {
		return document{}, fmt.Errorf("%w: HTML: %w", ErrBadDocument, err)
	}
	var b strings.Builder
	title := ""
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "noscript", "template", "svg", "iframe":
				return
			case "title":
				title = strings.TrimSpace(textOf(n))
				return
			}
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if n.Type == html.ElementNode && blockElements[n.Data] {
			b.WriteString("\n")
		}
	}
	walk(root)
	if title == "" {
		title = name
	}
	return document{Kind: "html", Title: title, Text: collapseBlank(b.String())}, nil
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

var blockElements = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "ul": true, "ol": true, "tr": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "section": true,
	"article": true, "header": true, "footer": true, "table": true, "pre": true,
	"blockquote": true, "dd": true, "dt": true, "main": true, "nav": true,
}

// collapseBlank trims every line, squeezes inner whitespace and keeps paragraph breaks.
func collapseBlank(s string) string {
	var lines []string
	blank := false
	for _, line := range strings.Split(s, "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" {
			if !blank && len(lines) > 0 {
				lines = append(lines, "")
			}
			blank = true
			continue
		}
		lines, blank = append(lines, line), false
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// splitter chunks prose: paragraphs, lines, then sentence ends in Chinese and English,
// then clauses, then words, then characters.
var splitter = textsplitter.NewRecursiveCharacter(
	textsplitter.WithChunkSize(ChunkSize),
	textsplitter.WithChunkOverlap(ChunkOverlap),
	textsplitter.WithSeparators([]string{"\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", " ", ""}),
	textsplitter.WithKeepSeparator(true),
)

// splitProse chunks text; separators kept by the splitter that would open a chunk are
// trimmed off.
func splitProse(text string) ([]string, error) {
	parts, err := splitter.SplitText(text)
	if err != nil {
		return nil, fmt.Errorf("kb: split text: %w", err)
	}
	out := parts[:0]
	for _, p := range parts {
		p = strings.TrimSpace(strings.TrimLeft(p, "。！？；，.!?;, \n"))
		if p != "" {
			out = append(out, p)
		}
	}
	return out, nil
}

// readAllLimited reads at most limit bytes of r.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrUnsupported, limit)
	}
	return data, nil
}
