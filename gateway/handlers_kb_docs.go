package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/kb"
)

// KBDocuments lists the documents of the knowledge base and deletes one through a job
// that commits a generation, as an upload does (kb.Jobs).
type KBDocuments interface {
	Documents(ctx context.Context) ([]kb.DocumentInfo, error)
	Delete(ctx context.Context, key string) (kb.Job, error)
}

// maxTryQuestion bounds a question tried against the knowledge base, in characters.
const maxTryQuestion = 2000

func (r *kbRoutes) documents() (KBDocuments, error) {
	if r.docs == nil {
		return nil, fmt.Errorf("%w: this server keeps no knowledge-base documents", errNotFound)
	}
	return r.docs, nil
}

// listKBDocuments answers GET /v1/kb/documents: every document with its chunk count,
// and whether it was uploaded or brought by `kb ingest`.
func (r *kbRoutes) listKBDocuments(c *gin.Context) {
	docs, err := r.documents()
	if err != nil {
		r.fail(c, err)
		return
	}
	list, err := docs.Documents(c.Request.Context())
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"documents": nonNil(list)})
}

// deleteKBDocument answers DELETE /v1/kb/documents/:id (the document's id from the list):
// audited as kb.delete, then a job removes it and commits a generation that every server
// reloads; GET /v1/kb/jobs/:id follows it.
func (r *kbRoutes) deleteKBDocument(c *gin.Context) {
	docs, err := r.documents()
	if err != nil {
		r.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	list, err := docs.Documents(ctx)
	if err != nil {
		r.fail(c, err)
		return
	}
	i := slices.IndexFunc(list, func(d kb.DocumentInfo) bool { return d.Key == c.Param("id") })
	if i < 0 {
		r.fail(c, fmt.Errorf("%w: knowledge-base document %q", errNotFound, c.Param("id")))
		return
	}
	doc := list[i]
	detail := map[string]any{"document": doc.Name, "path": doc.Path, "chunks": doc.Chunks, "uploaded": doc.Uploaded}
	if err := r.trail.AppendAudit(ctx, nil, claimsOf(c).Subject, "kb.delete", "kb:"+doc.Key, detail); err != nil {
		r.fail(c, err)
		return
	}
	job, err := docs.Delete(ctx, doc.Key)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.Header("Location", "/v1/kb/jobs/"+job.ID)
	c.JSON(http.StatusAccepted, job)
}

// askKB answers POST /v1/kb/ask {"question"}: what the bot would answer, from the
// generation being served, with its citations and confidence, and (with the server's
// escalation policy) whether it would hand the question to a human instead. The
// question is redacted first, as a customer's is, and nothing is stored.
func (r *kbRoutes) askKB(c *gin.Context) {
	var in struct {
		Question string `json:"question"`
	}
	if err := bind(c, &in); err != nil {
		r.fail(c, err)
		return
	}
	q := strings.TrimSpace(in.Question)
	if q == "" || utf8.RuneCountInString(q) > maxTryQuestion {
		r.fail(c, fmt.Errorf("%w: question: 1 to %d characters", errBadRequest, maxTryQuestion))
		return
	}
	if r.answer == nil {
		r.fail(c, fmt.Errorf("%w: this server has no knowledge base to answer from", errNotFound))
		return
	}
	if r.redact == nil {
		r.fail(c, fmt.Errorf("%w: no redactor: the question is not sent on unredacted", errUnavailable))
		return
	}
	ctx := c.Request.Context()
	redacted, err := r.redact.RedactText(ctx, q)
	if err != nil {
		r.fail(c, fmt.Errorf("%w: redaction failed, the question was not asked: %w", errUnavailable, err))
		return
	}
	ans, err := r.answer.Answer(ctx, redacted)
	if err != nil {
		r.fail(c, err)
		return
	}
	lang := kb.Language(redacted)
	out := gin.H{"question": redacted, "language": lang, "answer": ans.Text, "confidence": ans.Confidence, "citations": nonNil(ans.Citations)}
	if r.escalation != nil {
		out["escalates"] = r.escalation.Escalates(false, "", lang, ans.Text, ans.Confidence)
	}
	c.JSON(http.StatusOK, out)
}
