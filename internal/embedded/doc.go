// Package embedded sits underneath the persist, understand and escalate stages of the
// message flow when `switchboard serve` runs without configuration: it launches the private
// PostgreSQL (from the local installation, data kept on disk) and the in-process Redis that
// the stores then reach through their ordinary pgx and go-redis code paths.
//
// The launchers are also used by internal/testenv to give integration tests private
// servers. PostgreSQL refuses to run as root, so when the caller is root the cluster is
// owned by, and the server runs as, the OS user "postgres" that the distribution package
// creates. Process handling targets Linux.
package embedded
