// Package deploy holds the proofs of Switchboard's deployment artifacts (the Helm chart,
// the compose file, the container images). It is a module of its own so that Helm's and
// Kubernetes' libraries stay out of the product's go.mod.
package deploy
