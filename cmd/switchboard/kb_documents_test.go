package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cs/switchboard/internal/config"
	"github.com/switchboard-cs/switchboard/internal/testenv"
	"github.com/switchboard-cs/switchboard/kb"
)

// TestKBDocumentDeletedOnEveryServer runs two servers sharing kb.dir, one PostgreSQL and
// one Redis (the second polls only hourly). A document uploaded through server A is
// listed by server B with its chunks; deleting it through B is a job that commits a new
// generation, and both servers stop answering from it within seconds, as after an
// ingest (A's reload comes from the NOTIFY kb_changed B's job sends). "Try a question"
// answers from the generation served, and says the bot would hand the question over
// once the document is gone.
func TestKBDocumentDeletedOnEveryServer(t *testing.T) {
	dsn := testenv.PG(t)
	_, prefix := testenv.Redis(t)
	shared := t.TempDir()
	const secret = "kb-documents-test-secret-0123456789abcdef"
	replica := func(interval time.Duration) config.Config {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.HTTP.Addr = freeAddr(t)
		cfg.Log.Level = "warn"
		cfg.Postgres.DSN = dsn
		cfg.Redis.Addr, cfg.Redis.KeyPrefix = testenv.RedisAddr(t), prefix
		cfg.Auth.JWTSecret = secret
		cfg.Security.KeyRingFile = filepath.Join(shared, "keyring.json")
		cfg.KB.Dir = filepath.Join(shared, "kb")
		cfg.KB.ReloadInterval = interval
		return cfg
	}
	baseA, stopA := startServe(t, replica(time.Hour))
	defer stopA()
	baseB, stopB := startServe(t, replica(time.Hour))
	defer stopB()
	t.Setenv("SWITCHBOARD_JWT_SECRET", secret)
	cust, _ := execCLIErr(t, "token", "web:docs", "--role", "customer")
	sup, _ := execCLIErr(t, "token", "sam", "--role", "supervisor")
	cust, sup = strings.TrimSpace(cust), strings.TrimSpace(sup)
	finished := func(base string, job kb.Job) kb.Job {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); job.State != kb.JobDone && job.State != kb.JobFailed && time.Now().Before(deadline); {
			time.Sleep(100 * time.Millisecond)
			request(t, sup, "GET", base+"/v1/kb/jobs/"+job.ID, "", &job)
		}
		return job
	}

	const q, a = "Do you ship abroad?", "We ship to 30 countries."
	var job kb.Job
	if code := upload(t, baseA, sup, "shipping.csv", "question,answer\n"+q+","+a+"\n", &job); code != 202 {
		t.Fatalf("upload: %d %+v", code, job)
	}
	if job = finished(baseA, job); job.State != kb.JobDone || job.Generation != 1 {
		t.Fatalf("upload job %+v", job)
	}
	for _, base := range []string{baseA, baseB} {
		waitAnswer(t, base, cust, q, a, 5*time.Second)
	}
	var tried struct {
		Answer    string `json:"answer"`
		Escalates bool   `json:"escalates"`
		Citations []struct {
			Source string `json:"source"`
		} `json:"citations"`
	}
	if code := request(t, sup, "POST", baseB+"/v1/kb/ask", `{"question":"`+q+`"}`, &tried); code != 200 || tried.Answer != a || tried.Escalates ||
		len(tried.Citations) == 0 || tried.Citations[0].Source != "shipping.csv" {
		t.Fatalf("try a question: %d %+v", code, tried)
	}

	var list struct {
		Documents []kb.DocumentInfo `json:"documents"`
	}
	if code := request(t, sup, "GET", baseB+"/v1/kb/documents", "", &list); code != 200 || len(list.Documents) != 1 ||
		list.Documents[0].Name != "shipping.csv" || list.Documents[0].Chunks != 2 || !list.Documents[0].Uploaded {
		t.Fatalf("documents on server B: %d %+v", code, list)
	}
	if code := request(t, sup, "DELETE", baseB+"/v1/kb/documents/"+list.Documents[0].Key, "", &job); code != http.StatusAccepted {
		t.Fatalf("delete: %d %+v", code, job)
	}
	if job = finished(baseB, job); job.State != kb.JobDone || job.Kind != kb.JobDelete || job.Generation != 2 || job.Stats.Deleted != 2 {
		t.Fatalf("delete job %+v", job)
	}
	for _, base := range []string{baseA, baseB} {
		var st kb.Status
		for deadline := time.Now().Add(5 * time.Second); st.Generation != 2 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			request(t, sup, "GET", base+"/v1/kb/status", "", &st)
		}
		if st.Generation != 2 || st.Chunks != 0 {
			t.Fatalf("%s serves %+v after the deletion, want generation 2 without chunks", base, st)
		}
		if got, esc := askServer(t, base, cust, q); !esc {
			t.Errorf("%s still answers %q from the deleted document", base, got)
		}
	}
	if code := request(t, sup, "POST", baseA+"/v1/kb/ask", `{"question":"`+q+`"}`, &tried); code != 200 || !tried.Escalates {
		t.Fatalf("try a question after the deletion: %d %+v", code, tried)
	}
}
