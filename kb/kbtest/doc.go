// Package kbtest holds the shared test suite of the knowledge base's retrieve stage: the
// kb.Index contract that every index backend (the embedded index, Qdrant) must pass, so
// that the pipeline's answers do not depend on which backend serves them.
package kbtest
