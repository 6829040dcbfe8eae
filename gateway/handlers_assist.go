package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/assist"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/tickets"
)

// replyAssist suggests reply drafts (assist.Assistant).
type replyAssist interface {
	Suggest(ctx context.Context, q assist.Query) ([]assist.Draft, error)
	Compose(ctx context.Context, q assist.Query, suggestions []assist.Draft, draft func(soFar string)) (assist.Draft, error)
	Summarize(ctx context.Context, q assist.Query, why string) (string, error)
}

// assistQuery is what the agent of ticket d answers: the customer's last few messages
// (a request for a human rarely says what about) and the conversation so far.
func assistQuery(d tickets.TicketDetail) assist.Query {
	var q assist.Query
	var recent []string
	for _, m := range slices.Backward(d.Messages) {
		if m.Author == "customer" && len(recent) < 3 {
			recent = append(recent, flow.ForModels(m.Text))
		}
	}
	slices.Reverse(recent)
	q.Question = strings.Join(recent, "\n")
	for _, m := range d.Messages {
		who := m.Author
		switch {
		case who == "customer", who == "bot":
		case strings.HasPrefix(who, "agent:"):
			who = "agent"
		default:
			continue // system messages (rating requests and the like)
		}
		q.Conversation = append(q.Conversation, assist.Line{Author: who, Text: flow.ForModels(m.Text)})
	}
	return q
}

// replyDrafts suggests replies for the ticket: the knowledge base's answer and the
// replies that resolved the most similar past tickets, each an editable draft;
// can_compose says whether a language model may draft one (POST …/assist/draft).
func (r *ticketRoutes) replyDrafts(c *gin.Context) {
	d, err := r.tickets.Detail(c.Request.Context(), actorOf(c), c.Param("id")) // the caller must see the ticket
	if err != nil {
		r.fail(c, err)
		return
	}
	if r.assist == nil {
		c.JSON(http.StatusOK, gin.H{"drafts": []assist.Draft{}, "can_compose": false})
		return
	}
	drafts, err := r.assist.Suggest(c.Request.Context(), assistQuery(d))
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"drafts": nonNil(drafts), "can_compose": r.canCompose})
}

// composeDraft has the language model draft a reply from the suggestions, streamed as
// server-sent events: "draft" events carry {"text": the reply so far}, then one "done"
// event the finished draft, or one "error" event {"error": why}. Without a model: 409.
func (r *ticketRoutes) composeDraft(c *gin.Context) {
	ctx := c.Request.Context()
	d, err := r.tickets.Detail(ctx, actorOf(c), c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	if r.assist == nil || !r.canCompose {
		r.fail(c, assist.ErrNoWriter)
		return
	}
	q := assistQuery(d)
	if q.Question == "" {
		r.fail(c, fmt.Errorf("%w: the customer has written nothing to answer yet", errBadRequest))
		return
	}
	suggestions, err := r.assist.Suggest(ctx, q)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-cache")
	c.Header("X-Accel-Buffering", "no") // a proxy must pass the events on as they come
	c.Status(http.StatusOK)
	send := func(event string, v any) {
		c.SSEvent(event, v)
		c.Writer.Flush()
	}
	done, err := r.assist.Compose(ctx, q, suggestions, func(soFar string) { send("draft", gin.H{"text": soFar}) })
	if err != nil {
		msg := "the language model could not draft a reply; use the suggestions"
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "the language model took too long; use the suggestions"
		}
		r.log.Warn("reply draft failed", "ticket", d.Ticket.ID, "err", err)
		send("error", gin.H{"error": msg})
		return
	}
	send("done", done)
}

// handoffWhy says in words why the bot handed a conversation over, for the language
// model's summary.
var handoffWhy = map[string]string{
	tickets.HandoffAskedForHuman: "the customer asked for a human",
	tickets.HandoffIntent:        "requests of this kind always go to a person",
	tickets.HandoffNoAnswer:      "it had no answer",
	tickets.HandoffLowConfidence: "it was not sure enough of its answer",
}

// handoffSummary returns the language model's summary of an escalated ticket's
// conversation, writing and storing it the first time (later calls read it). 409 for a
// ticket the bot did not hand over, or without a language model.
func (r *ticketRoutes) handoffSummary(c *gin.Context) {
	ctx := c.Request.Context()
	d, err := r.tickets.Detail(ctx, actorOf(c), c.Param("id"))
	if err != nil {
		r.fail(c, err)
		return
	}
	h := d.Ticket.Handoff
	switch {
	case h == nil:
		r.fail(c, fmt.Errorf("this ticket was not handed over by the bot: there is no handoff to summarize: %w", tickets.ErrConflict))
		return
	case h.Summary != "":
		c.JSON(http.StatusOK, gin.H{"summary": h.Summary, "ticket": d.Ticket})
		return
	case r.assist == nil || !r.canCompose:
		r.fail(c, assist.ErrNoWriter)
		return
	}
	why := handoffWhy[h.Reason]
	if why == "" {
		why = "it could not help"
	}
	text, err := r.assist.Summarize(ctx, assistQuery(d), why)
	if err != nil {
		r.fail(c, err)
		return
	}
	t, err := r.tickets.SetHandoffSummary(ctx, actorOf(c), d.Ticket.ID, text)
	if err != nil {
		r.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"summary": t.Handoff.Summary, "ticket": t})
}
