package kb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

const (
	faqCSV = "\uFEFFid,Question,Answer\n" +
		"1,How do I reset my password?,Use the Forgot password link on the sign-in page.\n" +
		"2,怎么修改绑定的手机号？,在“我的-设置-账号安全”中修改手机号。\n" +
		"3,\"Where is my card, it has not arrived?\",Cards arrive within five working days.\n"
	refundMD = "# Refund policy\n\nRefunds are paid back to the original card within 7 days.\n\n" +
		"## Exceptions\n\nGift cards cannot be refunded.\n"
	shippingHTML = `<html><head><title>Shipping</title><style>.x{color:red}</style>
		<script>var secret = "do not index";</script></head>
		<body><h1>Shipping times</h1><p>Parcels to Germany take <b>three</b> days.</p>
		<p>我们支持顺丰快递，一般两天送达。</p></body></html>`
)

func TestIngestIncremental(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kbDir := filepath.Join(dir, "kbdocs")
	writeFile(t, filepath.Join(kbDir, "faq.csv"), faqCSV)
	writeFile(t, filepath.Join(kbDir, "policies", "refund.md"), refundMD)
	writeFile(t, filepath.Join(kbDir, "shipping.html"), shippingHTML)
	writeFile(t, filepath.Join(kbDir, "faq2.json"), `[{"question":"Do you ship abroad?","answer":"Yes, to 30 countries."}]`)
	writeFile(t, filepath.Join(kbDir, "notes.txt"), "Opening hours are 9 to 5 on weekdays.")
	writeFile(t, filepath.Join(kbDir, ".hidden", "x.md"), "# hidden")
	writeFile(t, filepath.Join(kbDir, "image.png"), "binary")

	idx, err := NewEmbedded(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	emb := NewLexicalEmbedder()
	var calls [][2]int
	progress := func(done, total int) { calls = append(calls, [2]int{done, total}) }
	ingest := func(path string) IngestStats {
		t.Helper()
		calls = nil
		st, err := Ingest(ctx, idx, emb, path, progress)
		if err != nil {
			t.Fatalf("Ingest: %v", err)
		}
		return st
	}

	first := ingest(kbDir)
	// 3 CSV rows + 1 JSON entry, each a question and an answer chunk, + 1 Markdown chunk +
	// 1 HTML chunk + 1 text chunk.
	if diff := cmp.Diff(IngestStats{Files: 5, Added: 11}, first); diff != "" {
		t.Fatalf("first ingest (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][2]int{{1, 5}, {2, 5}, {3, 5}, {4, 5}, {5, 5}}, calls); diff != "" {
		t.Errorf("progress calls (-want +got):\n%s", diff)
	}
	if again := ingest(kbDir); cmp.Diff(IngestStats{Files: 5, Unchanged: 11}, again) != "" {
		t.Fatalf("re-ingest is not a no-op: %+v", again)
	}

	r := NewRetriever(idx, emb)
	expectAnswer(t, r, "I forgot my password", "Use the Forgot password link on the sign-in page.")
	expectAnswer(t, r, "手机号怎么修改", "在“我的-设置-账号安全”中修改手机号。")
	expectPassage(t, r, "how long does shipping to Germany take", "Parcels to Germany take three days.", "kbdocs/shipping.html")
	expectPassage(t, r, "顺丰快递几天送达", "我们支持顺丰快递", "kbdocs/shipping.html")
	expectPassage(t, r, "can gift cards be refunded", "Gift cards cannot be refunded.", "kbdocs/policies/refund.md")
	if hits, _ := r.Retrieve(ctx, "secret do not index color", 5); len(hits) != 0 {
		t.Errorf("script or style text was indexed: %v", hits[0].Chunk.Text)
	}

	// Change one answer, drop one row, delete the HTML page.
	writeFile(t, filepath.Join(kbDir, "faq.csv"), strings.Replace(strings.Split(faqCSV, "3,")[0],
		"Forgot password link", "Reset link", 1))
	if err := os.Remove(filepath.Join(kbDir, "shipping.html")); err != nil {
		t.Fatal(err)
	}
	changed := ingest(kbDir)
	// the first row's question and answer chunks change; the third row's two and the page go
	if diff := cmp.Diff(IngestStats{Files: 4, Updated: 2, Unchanged: 6, Deleted: 3}, changed); diff != "" {
		t.Fatalf("after edits (-want +got):\n%s", diff)
	}
	expectAnswer(t, r, "I forgot my password", "Use the Reset link on the sign-in page.")
	if hits, _ := r.Retrieve(ctx, "Parcels to Germany", 5); len(hits) != 0 {
		t.Errorf("chunk of a deleted page still found: %v", hits[0].Chunk.ID)
	}

	// A single file ingest only touches that file's chunks; a restart keeps everything.
	if st := ingest(filepath.Join(kbDir, "notes.txt")); cmp.Diff(IngestStats{Files: 1, Unchanged: 1}, st) != "" {
		t.Errorf("single file ingest: %+v", st)
	}
	reopened, err := NewEmbedded(filepath.Join(dir, "index"))
	if err != nil || reopened.Len() != 8 {
		t.Fatalf("reopened index has %d chunks (%v), want 8", reopened.Len(), err)
	}
}

func TestIngestErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.pdf"), "%PDF")
	idx, _ := NewEmbedded("")
	if _, err := Ingest(context.Background(), idx, NewLexicalEmbedder(), filepath.Join(dir, "a.pdf"), nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("pdf: err = %v, want ErrUnsupported", err)
	}
	writeFile(t, filepath.Join(dir, "bad.json"), `{"question": "not an array"}`)
	if _, err := Ingest(context.Background(), idx, NewLexicalEmbedder(), dir, nil); err == nil {
		t.Error("malformed FAQ JSON ingested without error")
	}
}

func TestSplitProseLongChinese(t *testing.T) {
	sentence := "您好，我们的客服热线每天早上九点到晚上九点提供服务。"
	text := strings.Repeat(sentence, 60)
	chunks, err := splitProse(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 3 {
		t.Fatalf("got %d chunks, want the 1,500-character text split", len(chunks))
	}
	for i, c := range chunks {
		if n := len([]rune(c)); n > ChunkSize {
			t.Errorf("chunk %d has %d runes, above %d", i, n, ChunkSize)
		}
		if strings.HasPrefix(c, "。") {
			t.Errorf("chunk %d starts with punctuation: %q", i, c[:12])
		}
	}
}

func expectAnswer(t *testing.T, r *Retriever, q, want string) {
	t.Helper()
	a, err := r.Answer(context.Background(), q)
	if err != nil {
		t.Fatalf("Answer(%q): %v", q, err)
	}
	if a.Text != want {
		t.Errorf("Answer(%q) = %q, want %q", q, a.Text, want)
	}
	if len(a.Citations) == 0 || a.Confidence <= 0 || a.Confidence > 1 {
		t.Errorf("Answer(%q): citations %v, confidence %v", q, a.Citations, a.Confidence)
	} else if a.Citations[0].Snippet != want {
		t.Errorf("Answer(%q): the FAQ citation's snippet is %q, want its answer %q", q, a.Citations[0].Snippet, want)
	}
}

func expectPassage(t *testing.T, r *Retriever, q, contains, source string) {
	t.Helper()
	a, err := r.Answer(context.Background(), q)
	if err != nil {
		t.Fatalf("Answer(%q): %v", q, err)
	}
	if !strings.Contains(a.Text, contains) || len(a.Citations) == 0 || a.Citations[0].Source != source {
		t.Errorf("Answer(%q) = %q citing %+v, want a passage with %q from %s", q, a.Text, a.Citations, contains, source)
	}
}
