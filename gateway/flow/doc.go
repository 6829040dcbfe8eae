// Package flow is the turn flow below the HTTP edge: the steps a customer message goes
// through (media fetch, speech, vision, redaction, persistence, handover,
// understanding, retrieval, escalation, deferred speech), the adapters of the domain
// packages they call, the outcome a turn stores, and the queue worker that answers
// stored turns and delivers agents' replies. The server (package gateway) and the
// channel plugins hand it turns; `switchboard ask` runs it without a store. It imports
// no HTTP framework: what a turn's failure means to a client is the edge's business.
package flow
