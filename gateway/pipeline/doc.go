// Package pipeline runs one customer turn through the ordered AI stages of
// the message flow (asr, vision, redact, persist, understand, retrieve,
// respond, escalate). The pipeline, not the stages, owns timing, timeouts,
// logging and the degraded/fail-closed policy.
package pipeline
