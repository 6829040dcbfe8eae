package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/asr/audio"
	"github.com/switchboard-cs/switchboard/models"
	"github.com/switchboard-cs/switchboard/tickets"
	"github.com/switchboard-cs/switchboard/vision"
)

// Gateway's own sentinels.
var (
	errUnauthenticated = errors.New("missing or invalid bearer token")
	errForbiddenRole   = errors.New("your role may not do this")
	errBadRequest      = errors.New("bad request")
	errTooLarge        = errors.New("request body too large")
	errUnavailable     = errors.New("service unavailable")
	errNotFound        = errors.New("not found")
)

// statusOf is the one place where errors become HTTP status codes.
func statusOf(err error) (int, string) {
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr), errors.Is(err, errTooLarge), errors.Is(err, vision.ErrTooLarge), errors.Is(err, audio.ErrTooLong):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, errUnauthenticated):
		return http.StatusUnauthorized, "unauthenticated"
	case errors.Is(err, errForbiddenRole), errors.Is(err, tickets.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, models.ErrInvalid):
		return http.StatusUnprocessableEntity, "invalid_model"
	case errors.Is(err, errBadRequest), errors.Is(err, tickets.ErrInvalid), errors.Is(err, models.ErrBadInput),
		errors.Is(err, vision.ErrImage), errors.Is(err, audio.ErrAudio), errors.Is(err, asr.ErrBadAudio), errors.Is(err, asr.ErrBadOptions):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, tickets.ErrNotFound), errors.Is(err, errNotFound), errors.Is(err, models.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, tickets.ErrNoCapacity):
		return http.StatusConflict, "no_capacity"
	case errors.Is(err, tickets.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, errRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, asr.ErrBusy):
		return http.StatusTooManyRequests, "busy"
	case errors.Is(err, errUnavailable), errors.Is(err, models.ErrUnavailable), errors.Is(err, models.ErrOverloaded),
		errors.Is(err, asr.ErrUnavailable), errors.Is(err, audio.ErrUnavailable), errors.Is(err, asr.ErrClosed):
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

// fail writes err as JSON and stops the chain. Server errors are logged
// with their detail and answered without it.
func (s *Server) fail(c *gin.Context, err error) {
	status, code := statusOf(err)
	msg := err.Error()
	if status >= 500 {
		s.log.ErrorContext(c.Request.Context(), "request failed", "err", err, "path", c.FullPath(), "request_id", c.GetString(ctxRequestID))
		msg = "internal error; see the server log with this request id"
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: msg, Code: code, RequestID: c.GetString(ctxRequestID)})
}
