package tickets

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
	"github.com/redis/go-redis/v9"
)

// Sentinel errors. Callers wrap them with %w; gateway maps them to HTTP status.
var (
	ErrNotFound   = errors.New("not found")
	ErrInvalid    = errors.New("invalid input")
	ErrConflict   = errors.New("conflict")
	ErrForbidden  = errors.New("forbidden")
	ErrNoCapacity = errors.New("agent has no free capacity")
	ErrNoState    = errors.New("routing state missing")
	// ErrUnavailable: PostgreSQL or Redis cannot be reached, went away or is too busy to
	// answer in time; the same call may work a few seconds later.
	ErrUnavailable = errors.New("database unavailable")
)

// unavailableCodes are SQLSTATEs (besides class 08, connection exception) that say the
// server is going away, starting, full or too busy — not that the request was wrong.
var unavailableCodes = []string{
	"57P01", // admin_shutdown
	"57P02", // crash_shutdown
	"57P03", // cannot_connect_now (starting up, shutting down, in recovery)
	"53300", // too_many_connections
	"57014", // query_canceled: statement_timeout
	"55P03", // lock_not_available: lock_timeout
}

// IsUnavailable reports whether err means a store could not be reached or did not
// answer in time: ErrUnavailable anywhere in its chain, or an unmapped PostgreSQL or
// Redis connection failure (a connect error, a network error, SQLSTATE class 08,
// 57P01-57P03, a closed pool or client), or a Redis that answers it cannot serve for
// now — CLUSTERDOWN (a Redis Cluster holds every slot down once a master without a
// replica failed), TRYAGAIN, LOADING, MASTERDOWN. The caller's own cancellation and
// deadline are not: they are the client's doing.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true // even when its cause is a connect timeout
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || slices.Contains(unavailableCodes, pe.Code)
	}
	var op *net.OpError
	switch {
	case errors.As(err, &op), errors.Is(err, puddle.ErrClosedPool), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout):
		return true
	}
	return isUnavailableReply(err)
}

// unavailableReplies begin the Redis error replies that say the server cannot serve
// the command for now, whatever the command.
var unavailableReplies = []string{"CLUSTERDOWN ", "TRYAGAIN ", "LOADING ", "MASTERDOWN "}

// isUnavailableReply reports whether err holds such a reply of a Redis server.
func isUnavailableReply(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return false
	}
	msg := reply.Error()
	return slices.ContainsFunc(unavailableReplies, func(p string) bool { return strings.HasPrefix(msg, p) })
}
