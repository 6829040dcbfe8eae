package tickets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// TestIsUnavailableClassifiesConnectionFailures: connection failures of PostgreSQL and
// Redis are ErrUnavailable (503 at the edge); the client's own mistakes, cancellation and
// deadline are not.
func TestIsUnavailableClassifiesConnectionFailures(t *testing.T) {
	ctx := context.Background()
	_, connectErr := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	closedPool, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	closedPool.Close()
	closedPoolErr := closedPool.Ping(ctx)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	redisDown := rdb.Ping(ctx).Err()
	rdb.Close()
	redisClosed := rdb.Ping(ctx).Err()

	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"pgx connect refused", connectErr, true},
		{"closed pgx pool", closedPoolErr, true},
		{"redis connect refused", redisDown, true},
		{"closed redis client", redisClosed, true},
		{"redis pool timeout", redis.ErrPoolTimeout, true},
		{"SQLSTATE 08006 connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"SQLSTATE 08001 cannot connect", fmt.Errorf("q: %w", &pgconn.PgError{Code: "08001"}), true},
		{"SQLSTATE 57P01 admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"SQLSTATE 57P02 crash shutdown", &pgconn.PgError{Code: "57P02"}, true},
		{"SQLSTATE 57P03 starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"SQLSTATE 57014 statement timeout", &pgconn.PgError{Code: "57014"}, true},
		{"SQLSTATE 55P03 lock timeout", &pgconn.PgError{Code: "55P03"}, true},
		{"SQLSTATE 23505 unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"SQLSTATE 22P02 bad text", &pgconn.PgError{Code: "22P02"}, false},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"unexpected EOF", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"already mapped", fmt.Errorf("x: %w", ErrUnavailable), true},
		{"not found", fmt.Errorf("ticket: %w", ErrNotFound), false},
		{"caller cancelled", fmt.Errorf("q: %w", context.Canceled), false},
		{"caller deadline", fmt.Errorf("q: %w", context.DeadlineExceeded), false},
		{"no rows", pgx.ErrNoRows, false},
		{"plain error", errors.New("boom"), false},
		{"redis cluster down", fmt.Errorf("router route: %w", redisReply("CLUSTERDOWN The cluster is down")), true},
		{"redis cluster slot not served", redisReply("CLUSTERDOWN Hash slot not served"), true},
		{"redis try again", redisReply("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{"redis loading", redisReply("LOADING Redis is loading the dataset in memory"), true},
		{"redis master down", redisReply("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."), true},
		{"redis wrong type", redisReply("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"router script error", redisReply("NOCAPACITY agent alice is full"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsUnavailable(tc.err); got != tc.want {
				t.Errorf("IsUnavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// redisReply is an error reply of a Redis server, as go-redis returns one.
type redisReply string

func (e redisReply) Error() string { return string(e) }
func (redisReply) RedisError()     {}

var _ redis.Error = redisReply("")

// TestMapPgErrMarksUnavailable: mapPgErr wraps connection failures in ErrUnavailable and
// keeps mapping constraint violations as before.
func TestMapPgErrMarksUnavailable(t *testing.T) {
	type result struct{ Unavailable, Conflict, NotFound bool }
	of := func(err error) result {
		return result{errors.Is(err, ErrUnavailable), errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound)}
	}
	for _, tc := range []struct {
		name string
		err  error
		want result
	}{
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, result{Unavailable: true}},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, result{Unavailable: true}},
		{"unique", &pgconn.PgError{Code: "23505"}, result{Conflict: true}},
		{"no rows", pgx.ErrNoRows, result{NotFound: true}},
	} {
		if diff := cmp.Diff(tc.want, of(mapPgErr(tc.err, "thing"))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestStoreCallsOnALostConnectionAreUnavailable: a session PostgreSQL terminates and a
// database that is gone give ErrUnavailable from real store calls.
func TestStoreCallsOnALostConnectionAreUnavailable(t *testing.T) {
	ctx := context.Background()
	pool := migratedPool(t)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
	conn.Release()
	if !IsUnavailable(err) {
		t.Errorf("terminated session: %v is not unavailable", err)
	}
	gone, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	st := NewStore(gone, nil, testKeyRing(t))
	if _, err := st.ListStaffAccounts(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("store on a database that is gone: %v, want ErrUnavailable", err)
	}
}
