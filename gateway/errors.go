package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/gateway/assist"
	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/kb"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/vision"
)

// Gateway's own sentinels.
var (
	errUnauthenticated  = errors.New("missing or invalid bearer token")
	errForbiddenRole    = errors.New("your role may not do this")
	errBadRequest       = errors.New("bad request")
	errTooLarge         = errors.New("request body too large")
	errUnavailable      = errors.New("service unavailable")
	errNotFound         = errors.New("not found")
	errMethodNotAllowed = errors.New("method not allowed")
	errBusy             = errors.New("server busy")
)

// retryAfterSeconds is the Retry-After of a 503 for a data store that is unavailable:
// about how long a restarting PostgreSQL or a reconnect takes.
const retryAfterSeconds = 5

// statusOf is the one place where errors become HTTP status codes.
func statusOf(err error) (int, string) {
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr), errors.Is(err, errTooLarge), errors.Is(err, channel.ErrTooLarge), errors.Is(err, flow.ErrMediaTooLarge), errors.Is(err, vision.ErrTooLarge), errors.Is(err, audio.ErrTooLong):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, errUnauthenticated), errors.Is(err, channel.ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed, "method_not_allowed"
	case errors.Is(err, errForbiddenRole), errors.Is(err, tickets.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, models.ErrInvalid):
		return http.StatusUnprocessableEntity, "invalid_model"
	case errors.Is(err, errBadRequest), errors.Is(err, channel.ErrBadRequest), errors.Is(err, tickets.ErrInvalid), errors.Is(err, models.ErrBadInput),
		errors.Is(err, vision.ErrImage), errors.Is(err, audio.ErrAudio), errors.Is(err, asr.ErrBadAudio), errors.Is(err, asr.ErrBadOptions),
		errors.Is(err, kb.ErrUnsupported):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, tickets.ErrNotFound), errors.Is(err, errNotFound), errors.Is(err, models.ErrNotFound),
		errors.Is(err, kb.ErrNoJob), errors.Is(err, kb.ErrNoDocument):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, tickets.ErrNoCapacity):
		return http.StatusConflict, "no_capacity"
	case errors.Is(err, tickets.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, assist.ErrNoWriter):
		return http.StatusConflict, "not_configured"
	case errors.Is(err, errRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, asr.ErrBusy), errors.Is(err, errBusy), errors.Is(err, flow.ErrMediaBusy):
		return http.StatusTooManyRequests, "busy"
	case errors.Is(err, errUnavailable), errors.Is(err, models.ErrUnavailable), errors.Is(err, models.ErrOverloaded),
		errors.Is(err, asr.ErrUnavailable), errors.Is(err, audio.ErrUnavailable), errors.Is(err, asr.ErrClosed),
		tickets.IsUnavailable(err):
		return http.StatusServiceUnavailable, "unavailable"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout"
	case errors.Is(err, context.Canceled):
		return 499, "canceled"
	}
	return http.StatusInternalServerError, "internal"
}

// ErrorBody is every error response's JSON shape.
type ErrorBody struct {
	Error     string `json:"error"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
}

// errorWriter is the shared error writer: every route group embeds it (and logs through
// its logger, the server's), so that a failed request is answered one way everywhere.
type errorWriter struct{ log *slog.Logger }

// fail writes err as JSON and stops the chain. Server errors are logged
// with their detail and answered without it; when a data store is unavailable the
// answer is 503 with Retry-After.
func (e errorWriter) fail(c *gin.Context, err error) {
	status, code := statusOf(err)
	msg := err.Error()
	switch {
	case tickets.IsUnavailable(err):
		e.log.WarnContext(c.Request.Context(), "request failed: a data store is unavailable", "err", err, "path", c.FullPath(), "request_id", c.GetString(ctxRequestID))
		msg = "the database is unavailable; retry in a few seconds"
		c.Header("Retry-After", strconv.Itoa(retryAfterSeconds))
	case status >= 500:
		e.log.ErrorContext(c.Request.Context(), "request failed", "err", err, "path", c.FullPath(), "request_id", c.GetString(ctxRequestID))
		msg = "internal error; see the server log with this request id"
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: msg, Code: code, RequestID: c.GetString(ctxRequestID)})
}
