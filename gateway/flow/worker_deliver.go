package flow

import (
	"context"
	"errors"

	"github.com/switchboard-cs/switchboard/tickets"
)

// DeliverOne sends one queued reply (an agent's) to its channel: the text the
// agent wrote, opened from its seal (the store deletes the seal when the row is
// marked sent).
func (w *Worker) DeliverOne(ctx context.Context) (bool, error) {
	policy := w.Retry.WithDefaults()
	o, ok, err := w.Store.ClaimOutbound(ctx, w.lease(), policy.MaxAbandoned)
	if err != nil || !ok {
		return false, err
	}
	sendErr := w.sendOutbound(ctx, o)
	if sendErr != nil && o.Sealed != nil {
		sendErr = w.scrub(ctx, sendErr)
	}
	rctx, cancel := recordContext(ctx)
	defer cancel()
	dead, err := w.Store.FinishOutbound(rctx, o, sendErr, policy)
	if err != nil {
		return true, err
	}
	if sendErr != nil {
		w.failed(tickets.QueueOutbox, o.Channel, o.Attempts, sendErr, dead)
	} else {
		w.Metrics.result(tickets.QueueOutbox, o.Channel, resultDelivered)
	}
	return true, nil
}

// sendOutbound opens and sends o's text; a panic counts as a failed attempt.
// The send gets half the lease; recording the result gets its own time, so
// a slow send cannot leave a delivered reply unrecorded.
func (w *Worker) sendOutbound(ctx context.Context, o tickets.Outbound) (err error) {
	defer w.Panics.Recover("worker.deliver", &err)
	text, err := w.Store.OpenOriginal(o)
	if err != nil {
		return err
	}
	sctx, cancel := w.workContext(ctx, w.lease()/2)
	defer cancel()
	return w.send(sctx, o.Channel, o.ReplyTo, text)
}

// errSendWithheld stands for a failed send's error when its text could quote
// the agent's original and cannot be scrubbed.
var errSendWithheld = errors.New("sending the agent's reply failed (the error's detail is withheld: it could quote the reply)")

// scrub returns err with PII redacted from its text: a channel may quote the
// message it refused, and the original must not reach logs or columns.
func (w *Worker) scrub(ctx context.Context, err error) error {
	if w.Redactor == nil {
		return errSendWithheld
	}
	text, rerr := w.Redactor.RedactText(ctx, err.Error())
	if rerr != nil {
		return errSendWithheld
	}
	return scrubbedError{text: text, cause: err}
}

// scrubbedError reads as the redacted text and still matches its cause with
// errors.Is (a timeout stays a timeout).
type scrubbedError struct {
	text  string
	cause error
}

func (e scrubbedError) Error() string { return e.text }
func (e scrubbedError) Unwrap() error { return e.cause }
