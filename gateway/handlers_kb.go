package gateway

import (
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/tickets"
)

// kbDocumentsRoute takes documents to ingest: its body limit is kbUploadLimit.
const kbDocumentsRoute = "/v1/kb/documents"

// kbUploadLimit bounds one upload of documents (one document may be up to 64 MiB, as
// for `kb ingest`).
const kbUploadLimit = 64<<20 + 64<<10

// KBStatus reports the knowledge-base generation a server answers from.
type KBStatus interface {
	Status() kb.Status
}

// KBIngester runs ingests of uploaded documents as jobs (kb.Jobs).
type KBIngester interface {
	Stage() (string, error)
	Start(staged string, names []string) (kb.Job, error)
	Job(id string) (kb.Job, error)
}

// kbRoutes owns the supervisors' knowledge-base routes: the generation served, uploads of
// documents and their ingest jobs, the list of documents and their deletion
// (handlers_kb_docs.go), and questions tried against the knowledge base.
type kbRoutes struct {
	errorWriter
	status KBStatus    // nil: GET /v1/kb/status answers 404
	ingest KBIngester  // nil: uploads and jobs answer 404
	docs   KBDocuments // nil: listing and deleting documents answer 404
	trail  auditTrail
	// answer, redact and escalation serve "try a question" (POST /v1/kb/ask): the
	// answerer of Options.Suggest, the ticket core's redactor, Options.Escalation.
	answer     flow.Answerer
	redact     tickets.Redactor
	escalation *flow.EscalationPolicy
}

// kbStatus answers GET /v1/kb/status: the generation served, its chunks and documents,
// when it was loaded, and the last reload problem.
func (r *kbRoutes) kbStatus(c *gin.Context) {
	if r.status == nil {
		r.fail(c, fmt.Errorf("%w: this server has no knowledge base", errNotFound))
		return
	}
	c.JSON(http.StatusOK, r.status.Status())
}

// uploadKBDocuments answers POST /v1/kb/documents: multipart "files" parts (FAQ CSV or
// JSON, Markdown, HTML, text) are stored and ingested by a background job, whose
// progress GET /v1/kb/jobs/:id reports; every server picks the new generation up. The
// upload is audited (kb.upload, with the file names) before its job starts.
func (r *kbRoutes) uploadKBDocuments(c *gin.Context) {
	if r.ingest == nil {
		r.fail(c, fmt.Errorf("%w: this server takes no knowledge-base uploads", errNotFound))
		return
	}
	mr, err := c.Request.MultipartReader()
	if err != nil {
		r.fail(c, fmt.Errorf("%w: want multipart/form-data with one or more \"files\" parts", errBadRequest))
		return
	}
	staged, err := r.ingest.Stage()
	if err != nil {
		r.fail(c, err)
		return
	}
	names, err := stageDocuments(mr, staged)
	if err == nil && len(names) == 0 {
		err = fmt.Errorf("%w: no \"files\" part", errBadRequest)
	}
	if err == nil {
		err = r.trail.AppendAudit(c.Request.Context(), nil, claimsOf(c).Subject, "kb.upload", "kb", map[string]any{"files": names})
	}
	if err != nil {
		os.RemoveAll(staged)
		r.fail(c, err)
		return
	}
	job, err := r.ingest.Start(staged, names)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.Header("Location", "/v1/kb/jobs/"+job.ID)
	c.JSON(http.StatusAccepted, job)
}

// stageDocuments saves every "files" part under dir and returns their names.
func stageDocuments(mr *multipart.Reader, dir string) ([]string, error) {
	var names []string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return names, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: multipart: %w", errBadRequest, err)
		}
		if part.FormName() != "files" {
			return nil, fmt.Errorf("%w: unknown part %q (want files)", errBadRequest, part.FormName())
		}
		name := part.FileName()
		if err := kb.CheckName(name); err != nil {
			return nil, err
		}
		if slices.Contains(names, name) {
			return nil, fmt.Errorf("%w: file %q twice", errBadRequest, name)
		}
		if err := saveUpload(filepath.Join(dir, name), part); err != nil {
			return nil, err
		}
		names = append(names, name)
	}
}

// kbJob answers GET /v1/kb/jobs/:id with the job's progress.
func (r *kbRoutes) kbJob(c *gin.Context) {
	if r.ingest == nil {
		r.fail(c, fmt.Errorf("%w: this server takes no knowledge-base uploads", errNotFound))
		return
	}
	job, err := r.ingest.Job(c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, job)
}
