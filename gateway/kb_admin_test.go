package gateway

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/tickets"
)

// heardAnswerer is an answerer that remembers the texts it was asked.
type heardAnswerer struct {
	flow.Answerer
	mu    sync.Mutex
	heard []string
}

func (h *heardAnswerer) Answer(ctx context.Context, text string) (flow.Answer, error) {
	h.mu.Lock()
	h.heard = append(h.heard, text)
	h.mu.Unlock()
	return h.Answerer.Answer(ctx, text)
}

// TestKBDocumentsAPI: a supervisor uploads an FAQ, lists the knowledge base's documents
// with their chunk counts, deletes the document (a job that commits a generation, which
// GET /v1/kb/jobs/:id follows) and finds the list empty; an unknown document is 404;
// the upload and the deletion are audited.
func TestKBDocumentsAPI(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	jobs := kb.NewJobs(ctx, kb.JobsOptions{Dir: filepath.Join(dir, "uploads"),
		Open: func(context.Context) (kb.Index, error) { return kb.NewEmbedded(filepath.Join(dir, "index")) }})
	t.Cleanup(func() { cancel(); jobs.Wait() })
	in := newInstanceWith(t, newPool(t), "kbdocs"+strings.ToLower(t.Name()), nil,
		func(o *Options) { o.KBIngest, o.KBDocuments = jobs, jobs })
	base, sam := in.http.URL, in.token(t, "sam", RoleSupervisor)
	finished := func(job kb.Job) kb.Job {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mustCall(t, 200, base, sam, "GET", "/v1/kb/jobs/"+job.ID, nil, &job)
			if job.State == kb.JobDone || job.State == kb.JobFailed {
				return job
			}
		}
		t.Fatalf("job %+v did not finish", job)
		return job
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("files", "faq.csv")
	fw.Write([]byte("question,answer\nHow long does a refund take?,Refunds arrive within 5 working days.\nWhere is my card?,Cards arrive in a week.\n"))
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/v1/kb/documents", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var job kb.Job
	if code := exchange(t, req, sam, &job); code != 202 {
		t.Fatalf("upload: %d", code)
	}
	if job = finished(job); job.State != kb.JobDone || job.Kind != kb.JobIngest {
		t.Fatalf("upload job %+v", job)
	}

	var list struct {
		Documents []kb.DocumentInfo `json:"documents"`
	}
	mustCall(t, 200, base, sam, "GET", "/v1/kb/documents", nil, &list)
	if len(list.Documents) != 1 || list.Documents[0].Name != "faq.csv" || list.Documents[0].Chunks != 4 || !list.Documents[0].Uploaded {
		t.Fatalf("documents %+v", list.Documents)
	}
	doc := list.Documents[0]
	var e ErrorBody
	if code := call(t, base, sam, "DELETE", "/v1/kb/documents/0123456789abcdef", nil, &e); code != 404 || !strings.Contains(e.Error, "knowledge-base document") {
		t.Fatalf("unknown document: %d %q", code, e.Error)
	}
	mustCall(t, 202, base, sam, "DELETE", "/v1/kb/documents/"+doc.Key, nil, &job)
	if job = finished(job); job.State != kb.JobDone || job.Kind != kb.JobDelete || job.Stats.Deleted != 4 || job.Generation != 2 {
		t.Fatalf("delete job %+v", job)
	}
	mustCall(t, 200, base, sam, "GET", "/v1/kb/documents", nil, &list)
	if len(list.Documents) != 0 {
		t.Fatalf("documents after the deletion: %+v", list.Documents)
	}

	var log struct {
		Events []tickets.AuditEvent `json:"events"`
	}
	mustCall(t, 200, base, in.token(t, "audrey", RoleAuditor), "GET", "/v1/audit", nil, &log)
	var got []string
	for _, ev := range log.Events {
		got = append(got, ev.Actor+" "+ev.Action+" "+ev.Target)
	}
	if diff := cmp.Diff([]string{"sam kb.upload kb", "sam kb.delete kb:" + doc.Key}, got); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
}

// TestTryAQuestion: POST /v1/kb/ask answers as the bot would, from the server's
// answerer, with citations and confidence, and says by the escalation policy whether the
// bot would answer or hand over; the question reaches the answerer redacted, and bad
// questions are 400.
func TestTryAQuestion(t *testing.T) {
	heard := &heardAnswerer{Answerer: newRealBrain(t).KBAnswerer}
	in := newInstanceWith(t, newPool(t), "kbask"+strings.ToLower(t.Name()), nil,
		func(o *Options) { o.Suggest, o.Escalation = heard, &flow.EscalationPolicy{MinConfidence: 0.5} })
	base, sam := in.http.URL, in.token(t, "sam", RoleSupervisor)
	type answer struct {
		Question   string           `json:"question"`
		Language   string           `json:"language"`
		Answer     string           `json:"answer"`
		Confidence float64          `json:"confidence"`
		Citations  []map[string]any `json:"citations"`
		Escalates  *bool            `json:"escalates"`
		Error      string           `json:"error"`
	}
	for _, tc := range []struct {
		name, question string
		want           int
		answer, lang   string
		escalates      bool
		says           string
	}{
		{"an FAQ", "How long does a refund take?", 200, "Refunds arrive within 5 working days.", "en", false, ""},
		{"in Chinese", "退款多久到账？", 200, "退款将在5个工作日内到账。", "zh", false, ""},
		{"with a phone number", "How long does a refund take? Call me on 13812345678", 200, "Refunds arrive within 5 working days.", "en", false, ""},
		{"nothing known", "Can I bring my parrot to the concert hall?", 200, "", "en", true, ""},
		{"empty", "  ", 400, "", "", false, "question: 1 to 2000 characters"},
		{"too long", strings.Repeat("退", 2001), 400, "", "", false, "question: 1 to 2000 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got answer
			code := call(t, base, sam, "POST", "/v1/kb/ask", map[string]string{"question": tc.question}, &got)
			if code != tc.want || !strings.Contains(got.Error, tc.says) {
				t.Fatalf("%d %q, want %d saying %q", code, got.Error, tc.want, tc.says)
			}
			if code != 200 {
				return
			}
			if tc.answer != "" && (got.Answer != tc.answer || len(got.Citations) == 0 || got.Confidence <= 0) {
				t.Errorf("answer %+v, want %q with citations and a confidence", got, tc.answer)
			}
			if got.Language != tc.lang || got.Escalates == nil || *got.Escalates != tc.escalates {
				t.Errorf("answer %+v: want language %s, escalates %v", got, tc.lang, tc.escalates)
			}
			if strings.Contains(got.Question, "13812345678") {
				t.Errorf("the question came back unredacted: %q", got.Question)
			}
		})
	}
	heard.mu.Lock()
	defer heard.mu.Unlock()
	for _, q := range heard.heard {
		if strings.Contains(q, "13812345678") {
			t.Errorf("the answerer heard a raw phone number: %q", q)
		}
	}
	if len(heard.heard) != 4 {
		t.Errorf("the answerer heard %d questions, want 4", len(heard.heard))
	}
}
