// Package archtest holds the test that keeps the package structure of
// docs/architecture.md: which folders may import which, and where cgo may live. It has no
// code of its own; `go test ./internal/archtest` checks the whole module with `go list`.
package archtest
