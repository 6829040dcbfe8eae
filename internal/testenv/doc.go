// Package testenv sits beside the whole message flow rather than in it: it gives the
// integration tests of every stage (persist, understand, retrieve, escalate, routing) the
// real PostgreSQL and Redis they run against, each test with its own database or key prefix.
//
// Services are found through SWITCHBOARD_TEST_PG_DSN and SWITCHBOARD_TEST_REDIS_ADDR; when
// unset, the local defaults (127.0.0.1:5432 as user postgres, 127.0.0.1:6379) are tried for
// one second; when those do not answer, private servers are started once per test process
// from the local binaries (PostgreSQL through internal/embedded, redis-server without
// persistence) and stopped by Main. When no binary exists either, tests skip with a message
// saying what to install — or fail when CI=true, where a missing service is never a silent
// skip. Packages that use this helper call Main from their TestMain.
package testenv
